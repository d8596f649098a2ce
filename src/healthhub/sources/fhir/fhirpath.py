"""FHIRPath expressions: tokenizer, parser and syntax tree (pure, no engine).

The grammar covers what SQL-on-FHIR ViewDefinitions use: paths, indexers, function
calls, literals (string, number, boolean, date/time, quantity, empty ``{}``), external
constants (``%name``), ``$this``/``$index``, and the operators with FHIRPath precedence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from healthhub.exceptions import ViewDefinitionError


# --- syntax tree -------------------------------------------------------------------------
@dataclass(frozen=True)
class Node:
    pass


@dataclass(frozen=True)
class Literal(Node):
    value: object
    kind: str  # string, integer, decimal, boolean, date, dateTime, time, quantity, empty


@dataclass(frozen=True)
class Identifier(Node):
    """A name at the start of a path (``name`` in ``name.family``)."""

    name: str


@dataclass(frozen=True)
class Member(Node):
    target: Node
    name: str


@dataclass(frozen=True)
class Call(Node):
    target: Node | None  # None: function called on the current context
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Indexer(Node):
    target: Node
    index: Node


@dataclass(frozen=True)
class This(Node):
    pass


@dataclass(frozen=True)
class IndexVar(Node):
    pass


@dataclass(frozen=True)
class Constant(Node):
    name: str


@dataclass(frozen=True)
class Unary(Node):
    op: str
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class TypeOp(Node):
    op: str  # is | as
    operand: Node
    type_name: str


# --- tokenizer ---------------------------------------------------------------------------
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+|//[^\n]*|/\*.*?\*/)
  | (?P<datetime>@\d{4}(?:-\d{2}(?:-\d{2})?)?(?:T(?:\d{2}(?::\d{2}(?::\d{2}(?:\.\d+)?)?)?)?(?:Z|[+-]\d{2}:\d{2})?)?)
  | (?P<time>@T\d{2}(?::\d{2}(?::\d{2}(?:\.\d+)?)?)?)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<quoted>`(?:[^`\\]|\\.)*`)
  | (?P<constant>%(?:[A-Za-z_][A-Za-z0-9_]*|`(?:[^`\\]|\\.)*`|'(?:[^'\\]|\\.)*'))
  | (?P<special>\$this|\$index|\$total)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|!=|!~|[-+*/&|=~<>().,\[\]{}])
    """,
    re.VERBOSE | re.DOTALL,
)

_ESCAPES = {
    "'": "'",
    '"': '"',
    "`": "`",
    "r": "\r",
    "n": "\n",
    "t": "\t",
    "f": "\f",
    "\\": "\\",
    "/": "/",
}


def _unescape(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "u" and i + 5 < len(text):
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int


def tokenize(expression: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(expression):
        match = _TOKEN.match(expression, pos)
        if not match:
            raise FhirPathSyntaxError(expression, pos, "unexpected character")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("eof", "", pos))
    return tokens


class FhirPathSyntaxError(ViewDefinitionError):
    def __init__(self, expression: str, pos: int, reason: str) -> None:
        super().__init__(f"invalid FHIRPath '{expression}' at character {pos + 1}: {reason}")


# --- parser (precedence climbing) ------------------------------------------------------
_BINARY_PRECEDENCE: dict[str, int] = {
    "implies": 1,
    "or": 2,
    "xor": 2,
    "and": 3,
    "in": 4,
    "contains": 4,
    "=": 5,
    "~": 5,
    "!=": 5,
    "!~": 5,
    "<": 6,
    ">": 6,
    "<=": 6,
    ">=": 6,
    "|": 7,
    "is": 8,
    "as": 8,
    "+": 9,
    "-": 9,
    "&": 9,
    "*": 10,
    "/": 10,
    "div": 10,
    "mod": 10,
}
_WORD_OPERATORS = {"implies", "or", "xor", "and", "in", "contains", "is", "as", "div", "mod"}
_QUANTITY_UNITS = {
    "year", "years", "month", "months", "week", "weeks", "day", "days", "hour", "hours",
    "minute", "minutes", "second", "seconds", "millisecond", "milliseconds",
}  # fmt: skip


class _Parser:
    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.tokens = tokenize(expression)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def error(self, reason: str) -> FhirPathSyntaxError:
        return FhirPathSyntaxError(self.expression, self.tok.pos, reason)

    def expect(self, text: str) -> None:
        if self.tok.text != text or self.tok.kind in ("string", "quoted"):
            found = self.tok.text or "end of expression"
            raise self.error(f"expected '{text}', found '{found}'")
        self.i += 1

    def parse(self) -> Node:
        if self.tok.kind == "eof":
            raise self.error("empty expression")
        node = self.expression_(0)
        if self.tok.kind != "eof":
            raise self.error(f"unexpected '{self.tok.text}'")
        return node

    def binary_op(self) -> str | None:
        tok = self.tok
        if tok.kind == "op" and tok.text in _BINARY_PRECEDENCE:
            return tok.text
        if tok.kind == "ident" and tok.text in _WORD_OPERATORS:
            return tok.text
        return None

    def expression_(self, min_prec: int) -> Node:
        left = self.unary()
        while True:
            op = self.binary_op()
            if op is None or _BINARY_PRECEDENCE[op] < min_prec:
                return left
            prec = _BINARY_PRECEDENCE[op]
            self.i += 1
            if op in ("is", "as"):
                left = TypeOp(op, left, self.type_specifier())
                continue
            right = self.expression_(prec + 1)
            left = Binary(op, left, right)

    def type_specifier(self) -> str:
        parts = [self.identifier()]
        while self.tok.text == ".":
            self.i += 1
            parts.append(self.identifier())
        return ".".join(parts)

    def identifier(self) -> str:
        tok = self.tok
        if tok.kind == "ident":
            self.i += 1
            return tok.text
        if tok.kind == "quoted":
            self.i += 1
            return _unescape(tok.text[1:-1])
        raise self.error(f"expected a name, found '{tok.text or 'end of expression'}'")

    def unary(self) -> Node:
        if self.tok.kind == "op" and self.tok.text in ("+", "-"):
            op = self.tok.text
            self.i += 1
            return Unary(op, self.unary())
        return self.postfix(self.term())

    def postfix(self, node: Node) -> Node:
        while True:
            if self.tok.kind == "op" and self.tok.text == ".":
                self.i += 1
                name = self.identifier()
                if self.tok.text == "(" and self.tok.kind == "op":
                    node = Call(node, name, self.arguments())
                else:
                    node = Member(node, name)
            elif self.tok.kind == "op" and self.tok.text == "[":
                self.i += 1
                index = self.expression_(0)
                self.expect("]")
                node = Indexer(node, index)
            else:
                return node

    def arguments(self) -> tuple[Node, ...]:
        self.expect("(")
        args: list[Node] = []
        if self.tok.text != ")":
            args.append(self.expression_(0))
            while self.tok.text == ",":
                self.i += 1
                args.append(self.expression_(0))
        self.expect(")")
        return tuple(args)

    def term(self) -> Node:
        tok = self.tok
        if tok.kind == "number":
            self.i += 1
            value: object = float(tok.text) if "." in tok.text else int(tok.text)
            kind = "decimal" if "." in tok.text else "integer"
            if self.tok.kind == "string" or (
                self.tok.kind == "ident" and self.tok.text in _QUANTITY_UNITS
            ):
                unit = self.tok.text[1:-1] if self.tok.kind == "string" else self.tok.text
                self.i += 1
                return Literal((value, unit), "quantity")
            return Literal(value, kind)
        if tok.kind == "string":
            self.i += 1
            return Literal(_unescape(tok.text[1:-1]), "string")
        if tok.kind == "datetime":
            self.i += 1
            text = tok.text[1:]
            return Literal(text, "dateTime" if "T" in text else "date")
        if tok.kind == "time":
            self.i += 1
            return Literal(tok.text[2:], "time")
        if tok.kind == "constant":
            self.i += 1
            name = tok.text[1:]
            if name[0] in "`'":
                name = _unescape(name[1:-1])
            return Constant(name)
        if tok.kind == "special":
            self.i += 1
            if tok.text == "$this":
                return This()
            if tok.text == "$index":
                return IndexVar()
            raise FhirPathSyntaxError(self.expression, tok.pos, "$total is not supported")
        if tok.kind == "op" and tok.text == "(":
            self.i += 1
            node = self.expression_(0)
            self.expect(")")
            return node
        if tok.kind == "op" and tok.text == "{":
            self.i += 1
            self.expect("}")
            return Literal(None, "empty")
        if tok.kind == "ident" and tok.text in ("true", "false"):
            self.i += 1
            return Literal(tok.text == "true", "boolean")
        if tok.kind in ("ident", "quoted"):
            name = self.identifier()
            if self.tok.kind == "op" and self.tok.text == "(":
                return Call(None, name, self.arguments())
            return Identifier(name)
        raise self.error(f"unexpected '{tok.text or 'end of expression'}'")


def mentions(node: Node, kind: type[Node]) -> bool:
    """Whether the tree contains a node of this kind (e.g. ``$index``)."""
    if isinstance(node, kind):
        return True
    children: list[Node] = []
    for value in vars(node).values():
        if isinstance(value, Node):
            children.append(value)
        elif isinstance(value, tuple):
            children.extend(v for v in value if isinstance(v, Node))
    return any(mentions(child, kind) for child in children)


def parse(expression: str) -> Node:
    """Parse a FHIRPath expression into a syntax tree; raise ViewDefinitionError if invalid."""
    if not isinstance(expression, str):
        raise ViewDefinitionError(
            f"FHIRPath expression must be a string, got {type(expression).__name__}"
        )
    return _Parser(expression).parse()
