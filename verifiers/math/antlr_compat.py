"""Make latex2sympy2_extended's ANTLR 4.9.3 parser complete enough for percentages.

hydra-core and omegaconf pin `antlr4-python3-runtime==4.9.3`, so latex2sympy2_extended loads the
parser it generated for 4.9.3. That generated parser is older than the 4.11/4.13 ones: its
`AtomContext` has no `FUNC_GAMMA` accessor (in the 4.9.3 grammar `\\Gamma` is not an atom
alternative), but `latex2sympy.convert_atom` asks for it before it reaches the `PERCENT_NUMBER`
branch. Every atom that reaches that point - any `28\\%` - raised
`AttributeError: 'AtomContext' object has no attribute 'FUNC_GAMMA'`, so percentages were unparseable.

The missing accessor answers "no such child", which is exactly what the 4.9.3 grammar means (the atom
can never be a FUNC_GAMMA token there). We add it only when it is missing, so with a 4.11/4.13
runtime nothing changes. AtomContext.FUNC_GAMMA is the only accessor `latex2sympy2.py` uses that
the 4.9.3 parser lacks (compared against the 4.13.2 parser of latex2sympy2_extended 1.11.0).
"""

from __future__ import annotations

# The parser class the converter itself uses (latex2sympy2.py imports it from the generated code
# matching the installed runtime), so the patch reaches exactly the class that raised.
from latex2sympy2_extended.latex2sympy2 import PSParser


def _no_child(self, *args):
    return None


def patch_antlr_4_9_3_parser() -> bool:
    """Add the accessors the installed generated parser lacks. Returns True when it patched something."""
    if hasattr(PSParser.AtomContext, "FUNC_GAMMA"):
        return False
    PSParser.AtomContext.FUNC_GAMMA = _no_child
    return True


patch_antlr_4_9_3_parser()
