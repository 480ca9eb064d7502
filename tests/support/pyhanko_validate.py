"""`pyhanko sign validate ...` with the three MOJ private extensions
(1.2.392.100300.1.1.1-3) accepted as critical extensions: what a recipient of
an MOJ-signed PDF has to do, since pyhanko-certvalidator has no option for
it. Its module-level `SUPPORTED_EXTENSIONS` is read at validation time, so
the wrapper widens it by exactly these OIDs and then runs pyHanko's own CLI
with the arguments it was given. Any other unknown critical extension is
still refused. Driven by tests/pdf.rs; not a user tool (but a recipient can
use it as is: `python pyhanko_validate.py sign validate --trust ROOT FILE`).
"""

import sys

import pyhanko_certvalidator.validate as certvalidate
from pyhanko.__main__ import launch

MOJ_EXTENSIONS = frozenset(
    {"1.2.392.100300.1.1.1", "1.2.392.100300.1.1.2", "1.2.392.100300.1.1.3"}
)

certvalidate.SUPPORTED_EXTENSIONS = certvalidate.SUPPORTED_EXTENSIONS | MOJ_EXTENSIONS

if __name__ == "__main__":
    sys.argv[0] = "pyhanko"
    launch()
