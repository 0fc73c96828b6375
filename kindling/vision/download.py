"""Fetching dataset files: an atomic, checksummed HTTP download with a progress bar."""
import hashlib
import os
import tempfile
import urllib.request


def file_digest(path, algorithm="sha256", unpack_gzip=False):
    """Hex digest of a file (of its unpacked content for .gz when unpack_gzip)."""
    import gzip
    h = hashlib.new(algorithm)
    opener = gzip.open if unpack_gzip and path.endswith(".gz") else open
    with opener(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _progress(total, desc):
    try:
        from tqdm import tqdm
        return tqdm(total=total, unit="B", unit_scale=True, desc=desc, leave=False)
    except ImportError:
        return None


def download_url(url, path, md5=None, timeout=30, progress=True):
    """Download `url` to `path` atomically (temporary file, then rename); check md5 if given.

    Raises RuntimeError naming the URL on a network error or a checksum mismatch; a failed
    download leaves no partial file behind."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".download-")
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                response = urllib.request.urlopen(url, timeout=timeout)
            except OSError as e:
                raise RuntimeError(f"download of {url} failed: {e}") from None
            with response:
                total = int(response.headers.get("Content-Length") or 0) or None
                bar = _progress(total, os.path.basename(path)) if progress else None
                h = hashlib.md5()
                for chunk in iter(lambda: response.read(1 << 16), b""):
                    out.write(chunk)
                    h.update(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
                if bar is not None:
                    bar.close()
            out.flush()
            os.fsync(out.fileno())
        if md5 is not None and h.hexdigest() != md5:
            raise RuntimeError(f"download of {url}: md5 {h.hexdigest()} does not match the "
                               f"expected {md5}")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path
