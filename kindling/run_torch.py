"""Run a PyTorch script on kindling: `python -m kindling.run_torch script.py [args...]`.

The script runs as `__main__` with `sys.argv` = [script.py, args...] and its own folder first on
`sys.path`, exactly as `python script.py` would run it, except that `import torch` (and every
`torch.*` import) gives kindling; see kindling/compat.py. `python -m kindling.run_torch -m
package.module [args...]` runs a module the same way.
"""
import os
import runpy
import sys

from . import compat

USAGE = "usage: python -m kindling.run_torch script.py [args...] | -m module [args...]"


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr if not argv else sys.stdout)
        return 2 if not argv else 0
    compat.install()
    if argv[0] == "-m":
        if len(argv) < 2:
            print(USAGE, file=sys.stderr)
            return 2
        sys.argv = argv[1:]
        sys.path.insert(0, os.getcwd())
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
        return 0
    script = argv[0]
    if not os.path.isfile(script):
        print(f"kindling.run_torch: error: no such script: {script}", file=sys.stderr)
        return 2
    sys.argv = argv
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
