"""Builds assets/corpus/ once from CPython 3.11's standard library (run with Python 3.11).

The corpus is a fixed list of pure-Python modules, stored compressed with their names,
so every machine trains on the same bytes whatever Python it runs. The PSF licence of the
sources is copied beside it. Run again only to change the corpus (the models would need
retraining): `python scripts/build_corpus.py`.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import sys
import sysconfig
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "assets" / "corpus"

#: Top-level public modules of CPython 3.11's Lib/, alphabetical, each under 150 kB, until
#: ~2.7 MB: strings, comments, brackets and indentation in ordinary, well-kept code.
FILES = [
    "abc.py", "aifc.py", "antigravity.py", "argparse.py", "ast.py", "asynchat.py",
    "asyncore.py", "base64.py", "bdb.py", "bisect.py", "bz2.py", "cProfile.py",
    "calendar.py", "cgi.py", "cgitb.py", "chunk.py", "cmd.py", "code.py", "codecs.py",
    "codeop.py", "colorsys.py", "compileall.py", "configparser.py", "contextlib.py",
    "contextvars.py", "copy.py", "copyreg.py", "crypt.py", "csv.py", "dataclasses.py",
    "datetime.py", "decimal.py", "difflib.py", "dis.py", "doctest.py", "enum.py",
    "filecmp.py", "fileinput.py", "fnmatch.py", "fractions.py", "ftplib.py",
    "functools.py", "genericpath.py", "getopt.py", "getpass.py", "gettext.py", "glob.py",
    "graphlib.py", "gzip.py", "hashlib.py", "heapq.py", "hmac.py", "imaplib.py",
    "imghdr.py", "imp.py", "inspect.py", "io.py", "ipaddress.py", "keyword.py",
    "linecache.py", "locale.py", "lzma.py", "mailbox.py", "mailcap.py", "mimetypes.py",
    "modulefinder.py", "netrc.py", "nntplib.py", "ntpath.py", "nturl2path.py",
    "numbers.py", "opcode.py", "operator.py", "optparse.py", "os.py", "pathlib.py",
    "pdb.py", "pickle.py", "pickletools.py", "pipes.py", "pkgutil.py", "platform.py",
    "plistlib.py", "poplib.py", "posixpath.py", "pprint.py", "profile.py", "pstats.py",
    "pty.py", "py_compile.py", "pyclbr.py", "pydoc.py", "queue.py", "quopri.py",
    "random.py",
]  # fmt: skip


def main() -> int:
    if sys.version_info[:2] != (3, 11):
        print("build the corpus with Python 3.11, whose stdlib it is", file=sys.stderr)
        return 1
    lib = Path(sysconfig.get_paths()["stdlib"])
    texts = {name: (lib / name).read_text(encoding="utf-8") for name in FILES}
    OUT.mkdir(parents=True, exist_ok=True)
    data = json.dumps(texts, ensure_ascii=False, sort_keys=True).encode("utf-8")
    (OUT / "python_stdlib.json.xz").write_bytes(lzma.compress(data, preset=9))
    lines = ["# SHA-256, characters, file (CPython 3.11 Lib/), in corpus order"]
    for n in FILES:
        lines.append(f"{hashlib.sha256(texts[n].encode()).hexdigest()}  {len(texts[n])}  {n}")
    (OUT / "FILES.txt").write_text("\n".join(lines) + "\n")
    (OUT / "LICENSE-PSF.txt").write_text((lib / "LICENSE.txt").read_text())
    print(f"{len(FILES)} files, {sum(map(len, texts.values())):,} characters")
    return 0


if __name__ == "__main__":
    sys.exit(main())
