"""Recursive-descent parser: tokens in, syntax tree out. Syntax only; names are checked by the compiler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from engine.conditions.exceptions import ConditionError
from engine.conditions.lexer import KEYWORDS, Kind, Token, tokenize
from engine.conditions.nodes import (
    Binary,
    Call,
    Exists,
    ListLiteral,
    Literal,
    Logical,
    Matches,
    Node,
    Path,
    PathSegment,
    Unary,
)

MAX_SOURCE_LENGTH: Final = 10_000
MAX_NESTING: Final = 32  # brackets, calls and prefix operators inside each other
MAX_DEPTH: Final = 100  # height of the tree, e.g. a chain of 100 additions
COMPARISONS: Final = frozenset({"==", "!=", "<", "<=", ">", ">="})
LITERAL_WORDS: Final[dict[str, bool | None]] = {"true": True, "false": False, "null": None}


def parse(source: str) -> Node:
    """The syntax tree of ``source``; raises ConditionError with the position of the first problem."""
    if len(source) > MAX_SOURCE_LENGTH:
        raise ConditionError(
            "condition too long",
            MAX_SOURCE_LENGTH,
            source,
            f"keep conditions under {MAX_SOURCE_LENGTH} characters",
        )
    parser = _Parser(source, tokenize(source))
    return parser.parse_condition()


class _Parser:
    def __init__(self, source: str, tokens: list[Token]) -> None:
        self.source = source
        self.tokens = tokens
        self.index = 0
        self.nesting = 0
        self.depths: dict[int, int] = {}

    # -- token helpers -------------------------------------------------------------------------

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def peek(self, offset: int = 1) -> Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def at(self, kind: Kind, text: str | None = None) -> bool:
        token = self.current
        return token.kind is kind and (text is None or token.text == text)

    def at_op(self, *texts: str) -> bool:
        return self.current.kind is Kind.OP and self.current.text in texts

    def at_keyword(self, *texts: str) -> bool:
        return self.current.kind is Kind.KEYWORD and self.current.text in texts

    def advance(self) -> Token:
        token = self.current
        if token.kind is not Kind.END:
            self.index += 1
        return token

    def error(self, message: str, token: Token | None = None, hint: str | None = None) -> ConditionError:
        where = token if token is not None else self.current
        return ConditionError(message, where.position, self.source, hint)

    def describe(self, token: Token) -> str:
        return "the end of the condition" if token.kind is Kind.END else repr(token.text)

    def make(self, node: Node, *children: Node) -> Node:
        depth = 1 + max((self.depths.get(id(child), 1) for child in children), default=0)
        if depth > MAX_DEPTH:
            raise ConditionError(
                "expression too deeply nested", node.position, self.source, "split it into smaller conditions"
            )
        self.depths[id(node)] = depth
        return node

    def enter(self, token: Token) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise self.error("expression too deeply nested", token, "use fewer brackets inside each other")

    def leave(self) -> None:
        self.nesting -= 1

    # -- grammar -------------------------------------------------------------------------------

    def parse_condition(self) -> Node:
        if self.at(Kind.END):
            raise self.error("empty condition", hint="write a test such as contact.plan == 'pro'")
        node = self.parse_or()
        if not self.at(Kind.END):
            raise self.trailing_error()
        return node

    def trailing_error(self) -> ConditionError:
        token = self.current
        if token.kind is Kind.NAME and token.text.lower() in ("and", "or", "not", "in", "contains", "exists"):
            return self.error(f"unexpected {token.text!r}", hint=f"did you mean {token.text.lower()!r}?")
        if token.kind is Kind.OP and token.text == ")":
            return self.error("unmatched ')'", hint="there is no '(' for this ')'")
        if self.at_keyword("not"):
            return self.error(
                "unexpected 'not'",
                hint="after a value write 'not in', 'not contains', 'not matches' or 'not exists'",
            )
        return self.error(
            f"unexpected {self.describe(token)} after a complete expression",
            hint="combine tests with 'and' / 'or', and compare values with ==, !=, <, >",
        )

    def parse_or(self) -> Node:
        return self.parse_logical("or", self.parse_and)

    def parse_and(self) -> Node:
        return self.parse_logical("and", self.parse_not)

    def parse_logical(self, word: str, operand: Callable[[], Node]) -> Node:
        first = operand()
        if not self.at_keyword(word):
            return first
        position = self.current.position
        operands = [first]
        while self.at_keyword(word):
            self.advance()
            self.expect_operand(word)
            operands.append(operand())
        return self.make(Logical(word, tuple(operands), position), *operands)

    def parse_not(self) -> Node:
        if not self.at_keyword("not"):
            return self.parse_comparison()
        token = self.advance()
        self.expect_operand("not")
        self.enter(token)
        operand = self.parse_not()
        self.leave()
        return self.make(Unary("not", operand, token.position), operand)

    def parse_comparison(self) -> Node:
        left = self.parse_additive()
        node = self.parse_comparison_tail(left)
        if node is not left and (self.at_op(*COMPARISONS) or self.at_keyword("in", "contains", "matches")):
            raise self.error(
                "comparisons cannot be chained",
                hint="combine them with 'and', e.g. a < b and b < c",
            )
        return node

    def parse_comparison_tail(self, left: Node) -> Node:
        token = self.current
        if token.kind is Kind.OP and token.text in COMPARISONS:
            self.advance()
            self.expect_operand(token.text)
            right = self.parse_additive()
            return self.make(Binary(token.text, left, right, token.position), left, right)
        negated = False
        if (
            self.at_keyword("not")
            and self.peek().kind is Kind.KEYWORD
            and self.peek().text
            in (
                "in",
                "contains",
                "matches",
                "exists",
            )
        ):
            negated = True
            self.advance()
        word = self.current
        if word.kind is not Kind.KEYWORD or word.text not in ("in", "contains", "matches", "exists"):
            return left
        self.advance()
        if word.text == "exists":
            return self.make(Exists(left, negated, token.position), left)
        if word.text == "matches":
            pattern = self.current
            if pattern.kind is not Kind.STRING:
                raise self.error(
                    "'matches' needs a quoted pattern", hint="write e.g. event.url matches '^/pricing'"
                )
            self.advance()
            assert isinstance(pattern.value, str)
            return self.make(Matches(left, pattern.value, negated, pattern.position), left)
        self.expect_operand(word.text)
        right = self.parse_additive()
        op = f"not {word.text}" if negated else word.text
        return self.make(Binary(op, left, right, token.position), left, right)

    def parse_additive(self) -> Node:
        node = self.parse_term()
        while self.at_op("+", "-"):
            token = self.advance()
            self.expect_operand(token.text)
            right = self.parse_term()
            node = self.make(Binary(token.text, node, right, token.position), node, right)
        return node

    def parse_term(self) -> Node:
        node = self.parse_unary()
        while self.at_op("*", "/"):
            token = self.advance()
            self.expect_operand(token.text)
            right = self.parse_unary()
            node = self.make(Binary(token.text, node, right, token.position), node, right)
        return node

    def parse_unary(self) -> Node:
        if not self.at_op("-"):
            return self.parse_primary()
        token = self.advance()
        self.expect_operand("-")
        self.enter(token)
        operand = self.parse_unary()
        self.leave()
        if (
            isinstance(operand, Literal)
            and isinstance(operand.value, (int, float))
            and not isinstance(operand.value, bool)
        ):
            return Literal(-operand.value, token.position)
        return self.make(Unary("-", operand, token.position), operand)

    def expect_operand(self, after: str) -> None:
        token = self.current
        if token.kind is Kind.END:
            raise self.error(f"expected a value after {after!r}", hint="the condition ends too early")
        exists_call = token.text == "exists" and self.peek().text == "("
        if token.kind is Kind.KEYWORD and token.text in ("and", "or", "in", "contains", "exists", "matches"):
            if exists_call:
                return
            raise self.error(f"expected a value after {after!r} but found {token.text!r}")
        if token.kind is Kind.OP and token.text in COMPARISONS | {"*", "/", "+", ")", "]", ",", "."}:
            raise self.error(f"expected a value after {after!r} but found {token.text!r}")

    def parse_primary(self) -> Node:
        token = self.current
        if token.kind in (Kind.NUMBER, Kind.DURATION, Kind.STRING):
            self.advance()
            assert isinstance(token.value, (int, float, str))
            return Literal(token.value, token.position)
        if token.kind is Kind.KEYWORD and token.text in LITERAL_WORDS:
            self.advance()
            return Literal(LITERAL_WORDS[token.text], token.position)
        if token.kind is Kind.KEYWORD and token.text == "exists" and self.peek().text == "(":
            self.advance()
            args = self.parse_arguments("exists")
            if len(args) != 1:
                raise self.error(f"exists() takes 1 argument ({len(args)} given)", token)
            return self.make(Exists(args[0], False, token.position), args[0])
        if self.at_op("("):
            self.advance()
            self.enter(token)
            self.expect_operand("(")
            node = self.parse_or()
            self.leave()
            self.expect_close(")", token)
            return node
        if self.at_op("["):
            return self.parse_list()
        if token.kind is Kind.NAME:
            self.advance()
            if self.at_op("("):
                args = self.parse_arguments(token.text)
                return self.make(Call(token.text, args, token.position), *args)
            return self.parse_path(token)
        if token.kind is Kind.END:
            raise self.error("expected a value", hint="the condition ends too early")
        hint = None
        if token.kind is Kind.KEYWORD and token.text in KEYWORDS:
            hint = f"{token.text!r} needs a value before it"
        raise self.error(f"expected a value but found {self.describe(token)}", hint=hint)

    def parse_arguments(self, name: str) -> tuple[Node, ...]:
        opening = self.advance()
        self.enter(opening)
        args: list[Node] = []
        while not self.at_op(")"):
            self.expect_operand("(" if not args else ",")
            args.append(self.parse_or())
            if not self.at_op(","):
                break
            self.advance()
        self.leave()
        self.expect_close(")", opening, f"arguments of {name}() are separated by commas")
        return tuple(args)

    def parse_list(self) -> Node:
        opening = self.advance()
        self.enter(opening)
        items: list[Node] = []
        while not self.at_op("]"):
            self.expect_operand("[" if not items else ",")
            items.append(self.parse_or())
            if not self.at_op(","):
                break
            self.advance()
        self.leave()
        self.expect_close("]", opening, "list items are separated by commas")
        return self.make(ListLiteral(tuple(items), opening.position), *items)

    def expect_close(self, closing: str, opening: Token, hint: str | None = None) -> None:
        if self.at_op(closing):
            self.advance()
            return
        found = self.describe(self.current)
        if hint and self.current.kind is not Kind.END:
            raise self.error(f"expected ',' or {closing!r} but found {found}", hint=hint)
        detail = f"the {opening.text!r} at position {opening.position} is not closed"
        raise self.error(
            f"expected {closing!r} but found {found}", hint=f"{detail}; {hint}" if hint else detail
        )

    def parse_path(self, root: Token) -> Node:
        segments: list[PathSegment] = []
        while True:
            if self.at_op("."):
                self.advance()
                name = self.current
                if name.kind not in (Kind.NAME, Kind.KEYWORD):
                    raise self.error(
                        f"expected a field name after '.' but found {self.describe(name)}",
                        hint="use brackets for other keys: event.properties['page-name'], contact.tags[0]",
                    )
                self.advance()
                segments.append(name.text)
            elif self.at_op("["):
                opening = self.advance()
                key = self.current
                if key.kind is Kind.STRING or (key.kind is Kind.NUMBER and isinstance(key.value, int)):
                    assert isinstance(key.value, (str, int))
                    segments.append(key.value)
                    self.advance()
                else:
                    raise self.error(
                        "a key in brackets must be a quoted string or a whole number",
                        hint="e.g. contact.last_by_type['email.opened'] or contact.tags[0]",
                    )
                self.expect_close("]", opening)
            else:
                return Path(root.text, tuple(segments), root.position)
