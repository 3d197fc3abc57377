"""The wheel carries the app: app.py, app_pages/, .streamlit/config.toml and the shipped
checkpoints and corpus, copied into rnnviz/_app/ at build time, so that `rnnviz serve`
works from any directory with no checkout (docs/decisions.md, 56). In a checkout (and an
editable install) the same files are read where they are: nothing is moved or duplicated.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: What the app needs at run time, relative to the checkout (screenshots are not needed).
APP_FILES = ["app.py", ".streamlit/config.toml"]
APP_TREES = {"app_pages": "*.py", "assets/models": "*", "assets/corpus": "*"}


class BuildWithApp(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib) / "rnnviz" / "_app"
        shutil.rmtree(target, ignore_errors=True)  # no stale copy of a removed page
        for name in APP_FILES:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
        for tree, pattern in APP_TREES.items():
            for source in sorted((ROOT / tree).glob(pattern)):
                if source.is_file():
                    (target / tree).mkdir(parents=True, exist_ok=True)
                    shutil.copy2(source, target / tree / source.name)


setup(cmdclass={"build_py": BuildWithApp})
