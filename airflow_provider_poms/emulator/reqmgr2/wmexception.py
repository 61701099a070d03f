"""WMCore's spec-factory error and the ``<@==== WMException Start ====@>`` banner it prints.

Kept apart from the argument definitions because the banner's layout is a wire fact of its own:
create and clone errors carry it (400/1102), PUT errors show the bare message. What it lists was
checked against the real server (conformance tier): ``MethodName``/``LineNumber`` name the raising
function, and the ``Traceback:`` section holds the frames of the exception being handled when the
error was built (a cast or a Lexicon validator that raised), or nothing (a check that answered False).
"""

from __future__ import annotations

from dataclasses import dataclass

#: where the real server's WMCore lives (the banner names it)
WMCORE_SITE = "/usr/local/lib/python3.11/site-packages"
_BANNER_START = "<@========== WMException Start ==========@>"
_BANNER_END = "<@---------- WMException End ----------@>"


@dataclass(frozen=True)
class Frame:
    """One traceback frame as ``traceback.format_tb`` prints it on Python 3.11.

    ``mark`` is the sub-expression Python underlines with ``^`` (empty: the whole line, no marker).
    """

    path: str  # under site-packages
    line: int
    func: str
    source: str
    mark: str = ""

    def render(self) -> str:
        text = f'  File "{WMCORE_SITE}/{self.path}", line {self.line}, in {self.func}\n    {self.source}\n'
        if self.mark:
            text += "    " + " " * self.source.index(self.mark) + "^" * len(self.mark) + "\n"
        return text


class SpecError(Exception):
    """A ``WMSpecFactoryException``: its text becomes ``Invalid spec parameter value: <text>``.

    ``method``/``line`` say where WMCore raises it (the banner's MethodName/LineNumber); ``frames`` are
    the traceback it recorded; ``banner=False`` for the few errors create shows unwrapped.
    """

    def __init__(
        self,
        message: str,
        method: str = "validateArgumentsCreate",
        line: int = 290,
        *,
        banner: bool = True,
        frames: tuple[Frame, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.banner = banner
        self.method = method
        self.line = line
        self.frames = frames


def wmexception_text(err: SpecError) -> str:
    """``str(WMSpecFactoryException)``: the banner WMCore wraps spec-factory errors in."""
    if not err.banner:
        return err.message
    data = (
        ("ClassName", "None"),
        ("ModuleName", "WMCore.WMSpec.WMWorkloadTools"),
        ("MethodName", err.method),
        ("ClassInstance", "None"),
        ("FileName", f"{WMCORE_SITE}/WMCore/WMSpec/WMWorkloadTools.py"),
        ("LineNumber", str(err.line)),
        ("ErrorNr", "0"),
    )
    lines = "".join(f"\t{k} : {v}\n" for k, v in data)
    frames = "\n".join(f.render() for f in err.frames)  # "\n".join(traceback.format_tb(tb))
    return (
        f"{_BANNER_START}\nException Class: WMSpecFactoryException\nMessage: {err.message}\n{lines}"
        f"\nTraceback: \n{frames}\n{_BANNER_END}"
    )


# ------------------------------------------------------------------ where WMWorkloadTools raises
_TOOLS = "WMCore/WMSpec/WMWorkloadTools.py"
_UTILS = "Utils/Utilities.py"
#: ``_validateArgument``: None check, then the cast in a try (a failed cast is re-raised at 107)
NONE_AT = ("_validateArgument", 90)
CAST_AT = ("_validateArgument", 107)
STR_FRAME = Frame(
    _TOOLS,
    98,
    "_validateArgument",
    "raise TypeError(f\"Argument '{argument}' with value {value} is not a string\")",
)
CAST_FRAME = Frame(_TOOLS, 101, "_validateArgument", "value = expected_type(value)", "expected_type(value)")
#: ``_validateArgFunction``: a validator that raised is re-raised at 151 (one that answered False at 145)
VALIDATE_FRAME = Frame(
    _TOOLS, 142, "_validateArgFunction", "if not valFunction(value):", "valFunction(value)"
)
_MAKE_LIST = Frame(_UTILS, 53, "makeList", 'raise ValueError("Can\'t convert to list %s" % stringList)')
#: frames a failing WMCore cast function adds below ``CAST_FRAME`` (built-in casts add none)
CAST_FRAMES: dict[str, tuple[Frame, ...]] = {
    "safestr": (
        Frame(
            _UTILS, 98, "safeStr", 'raise ValueError("We\'re not supposed to convert %s to string." % string)'
        ),
    ),
    "bool": (Frame(_UTILS, 87, "strToBool", 'raise ValueError("Can\'t convert to bool: %s" % string)'),),
    "list": (_MAKE_LIST,),
}


def nonempty_list_frames(list_failed: bool) -> tuple[Frame, ...]:
    """``makeNonEmptyList``: its own raise, or the ``makeList`` call it makes first."""
    if list_failed:
        call = Frame(
            _UTILS, 64, "makeNonEmptyList", "finalList = makeList(stringList)", "makeList(stringList)"
        )
        return (call, _MAKE_LIST)
    return (
        Frame(
            _UTILS,
            66,
            "makeNonEmptyList",
            'raise ValueError("Input data cannot be an empty list %s" % stringList)',
        ),
    )
