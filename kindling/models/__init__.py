"""Ready-made models, one file per family. Each is an ordinary kindling.nn.Module."""
from .perceptron import Perceptron
from .mlp import MLP, LogisticRegression

__all__ = ["Perceptron", "MLP", "LogisticRegression"]
from .lenet import LeNet5
from .vgg import VGG, vgg11, vgg16
from .resnet import ResNet, BasicBlock, Bottleneck, resnet18, resnet34, resnet50, resnet20
from .inception import Inception, GoogLeNet
from .mobilenet import MobileNetV1, DepthwiseSeparable, separable_savings
from .summary import summary, receptive_field

__all__ += ["LeNet5", "VGG", "vgg11", "vgg16", "ResNet", "BasicBlock", "Bottleneck", "resnet18",
            "resnet34", "resnet50", "resnet20", "Inception", "GoogLeNet", "MobileNetV1",
            "DepthwiseSeparable", "separable_savings", "summary", "receptive_field"]
from .charlm import CharLM, CharLMConfig
from .gpt import GPT, GPTConfig
from .bert import BERT, BERTConfig, mask_tokens
from .seq2seq import Seq2SeqGRU, Seq2SeqConfig, TransformerSeq2Seq, TransformerSeq2SeqConfig
from .classifier import BiLSTMClassifier, BiLSTMConfig
from .word2vec import Word2Vec, Word2VecConfig
from .glove import GloVe, GloVeConfig
__all__ += ["CharLM", "CharLMConfig", "GPT", "GPTConfig", "BERT", "BERTConfig", "mask_tokens",
            "Seq2SeqGRU", "Seq2SeqConfig", "TransformerSeq2Seq", "TransformerSeq2SeqConfig",
            "BiLSTMClassifier", "BiLSTMConfig", "Word2Vec", "Word2VecConfig", "GloVe",
            "GloVeConfig"]
