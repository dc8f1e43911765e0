"""Runs the examples of the documentation as a reader would type them, against the app and the CLI.

A fenced ``sh`` block is a script of commands: ``register …`` (or ``.venv/bin/register …``) runs the
CLI, ``curl …`` sends the request to the app, ``NAME=$(…)`` keeps a command's output (a token, an id
picked with ``| jq -r .path``) for the ``$NAME`` of later commands, ``-d @- <<'JSON'`` takes the lines
up to ``JSON``. A ``json`` or ``text`` block right after it is the documented outcome of its last
command: the JSON answer must hold everything the block shows (strings ending in ``…`` are prefixes,
lists may show their first items only), and each line of a ``text`` block must be in the command's
output. Without an outcome a request must answer 2xx and a command exit 0. A ``graphql`` block that
is an operation (not the schema) runs as a query, its ``$nin`` the national id the page used last.

A block the examples cannot run (a benchmark, a backup with pg_dump) says so on the line above it:
``<!-- docs-examples: not run — the reason -->``; any other command is an error, so an example
added later is run or explicitly excused, never skipped in silence.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cli.main import app as cli_app

NOT_RUN = re.compile(r"<!-- docs-examples: not run — .+ -->")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n?", re.S | re.M)


@dataclass
class Block:
    doc: Path
    line: int
    lang: str
    text: str
    outcome: Block | None = None
    excused: bool = False

    @property
    def where(self) -> str:
        return f"{self.doc.name}:{self.line}"


def blocks(doc: Path) -> list[Block]:
    """The page's runnable blocks in order, each with its outcome block if one follows at once."""
    source = doc.read_text(encoding="utf-8")
    found: list[Block] = []
    previous_end = -1
    for match in FENCE.finditer(source):
        lang, text = match.group(1), match.group(2)
        line = source.count("\n", 0, match.start()) + 1
        before = source[: match.start()].rstrip().rsplit("\n", 1)[-1]
        block = Block(doc, line, lang, text, excused=bool(NOT_RUN.fullmatch(before.strip())))
        gap = source[previous_end : match.start()] if previous_end >= 0 else "x"
        if lang in ("json", "text") and found and found[-1].lang == "sh" and not gap.strip():
            found[-1].outcome = block
        elif lang == "sh" or (lang == "graphql" and _is_operation(text)):
            found.append(block)
        previous_end = match.end()
    return found


def _is_operation(text: str) -> bool:
    return text.lstrip().startswith(("query", "{"))


@dataclass
class Result:
    status: int  # HTTP status, or the CLI's exit code
    body: bytes
    is_http: bool

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300 if self.is_http else self.status == 0


@dataclass
class Session:
    """One reader going down a page: their shell variables, the app and the CLI."""

    client: TestClient
    cli: CliRunner
    root: Path
    variables: dict[str, str] = field(default_factory=dict)
    last_nin: str | None = None
    ran: list[str] = field(default_factory=list)

    def run(self, block: Block) -> None:
        if block.excused:
            return
        if block.lang == "graphql":
            self._graphql(block)
            return
        commands = _commands(block.text)
        assert commands, f"{block.where}: an empty block"
        for number, (command, stdin) in enumerate(commands, start=1):
            result = self._command(command, stdin, block)
            if number < len(commands) or block.outcome is None:
                assert result.ok, (
                    f"{block.where}: {command[:60]}… answered {result.status}: {result.body[:500]!r}"
                )
                if result.is_http and "/graphql" in command and "errors" in result.json():
                    raise AssertionError(f"{block.where}: GraphQL errors: {result.json()['errors']}")
        if block.outcome is None:
            return
        if block.outcome.lang == "json":
            expected = json.loads(block.outcome.text)
            problems = list(_differences(expected, result.json(), "$"))
            assert problems == [], f"{block.where}: the answer differs from the documented one: {problems}"
        else:
            output = result.body.decode()
            for line in block.outcome.text.splitlines():
                assert line.strip() in output, f"{block.where}: {line.strip()!r} not in the output:\n{output}"

    def _graphql(self, block: Block) -> None:
        assert self.last_nin, f"{block.where}: no national id was used on the page before this query"
        token = self.variables.get("TOKEN")
        assert token, f"{block.where}: no $TOKEN on the page before this query"
        variables = {"nin": self.last_nin} if "$nin" in block.text else {}
        answer = self.client.post(
            "/graphql",
            json={"query": block.text, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 200, f"{block.where}: {answer.status_code} {answer.text[:500]}"
        assert "errors" not in answer.json(), f"{block.where}: {answer.json()['errors']}"
        self.ran.append(f"{block.where} graphql")

    def _command(self, command: str, stdin: str | None, block: Block) -> Result:
        assignment = re.fullmatch(r"(\w+)=\$\((.*)\)", command, re.S)
        if assignment:
            inner, _, jq = assignment.group(2).partition("| jq -r ")
            result = self._command(inner.strip(), stdin, block)
            assert result.status in (0, 200, 201), f"{block.where}: {inner} gave {result.status}"
            value = _jq(result.json(), shlex.split(jq)[0]) if jq else result.body.decode().strip()
            self.variables[assignment.group(1)] = str(value)
            return result
        words = shlex.split(self._expand(command, block))
        self.ran.append(f"{block.where} {words[0]} {words[1] if len(words) > 1 else ''}")
        if words[0] in ("register", ".venv/bin/register"):
            return self._register(words[1:], stdin)
        if words[0] == "curl":
            return self._curl(words[1:], stdin, block)
        raise AssertionError(
            f"{block.where}: the examples cannot run {words[0]!r}; run it here (tests/docs/runner.py) or "
            "mark the block with <!-- docs-examples: not run — the reason --> on the line above it"
        )

    def _expand(self, command: str, block: Block) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1) or match.group(2)
            assert name in self.variables, f"{block.where}: ${name} is used before it is set on the page"
            return self.variables[name]

        return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, command)

    def _register(self, args: list[str], stdin: str | None) -> Result:
        outcome = self.cli.invoke(cli_app, args, input=stdin, catch_exceptions=False)
        return Result(outcome.exit_code, outcome.output.encode(), is_http=False)

    def _curl(self, args: list[str], stdin: str | None, block: Block) -> Result:
        method, url, headers = None, None, {}
        body: bytes | None = None
        files: dict[str, tuple[str, bytes, str]] | None = None
        words = iter(args)
        for word in words:
            if word in ("-s", "-S", "-sS", "--silent", "--show-error", "--fail-with-body"):
                continue
            if word == "-X":
                method = next(words)
            elif word == "-H":
                name, _, value = next(words).partition(":")
                headers[name.strip()] = value.strip()
            elif word in ("-d", "--data", "--data-binary"):
                body = self._data(next(words), stdin)
            elif word == "-F":
                name, _, spec = next(words).partition("=@")
                path, _, media_type = spec.partition(";type=")
                files = {
                    name: (
                        Path(path).name,
                        (self.root / path).read_bytes(),
                        media_type or "application/octet-stream",
                    )
                }
            elif word == "-o":
                next(words)  # the answer is checked here instead of written to a file
            elif word.startswith("-"):
                raise AssertionError(
                    f"{block.where}: curl option {word} is not understood by tests/docs/runner.py"
                )
            else:
                url = word
        assert url is not None, f"{block.where}: curl without a URL"
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        if body is not None and "nin" in (text := body.decode(errors="replace")):
            found = re.search(r'"nin"\s*:\s*"(\d{11})"', text)
            self.last_nin = found.group(1) if found else self.last_nin
        send: Callable[..., Any] = self.client.request
        answer = send(
            method or ("POST" if body is not None or files else "GET"),
            target,
            headers=headers,
            content=body,
            files=files,
        )
        return Result(answer.status_code, answer.content, is_http=True)

    def _data(self, value: str, stdin: str | None) -> bytes:
        if value == "@-":
            assert stdin is not None, "-d @- without a here-document"
            return stdin.encode()
        if value.startswith("@"):
            return (self.root / value[1:]).read_bytes()
        return value.encode()


def _commands(script: str) -> list[tuple[str, str | None]]:
    """The script's commands: continuation lines joined, comments dropped, here-documents taken."""
    lines = script.splitlines()
    commands: list[tuple[str, str | None]] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        while (line.endswith("\\") or _open_quote(line)) and index < len(lines):
            # a backslash continues the command; so does a quote left open (a JSON body over lines)
            line = (
                line[:-1] + " " + lines[index].strip() if line.endswith("\\") else line + "\n" + lines[index]
            )
            index += 1
        line = _without_comment(line).strip()
        if not line:
            continue
        heredoc = re.search(r"<<'?(\w+)'?\s*$", line)
        stdin = None
        if heredoc:
            end = lines.index(heredoc.group(1), index)
            stdin = "\n".join(lines[index:end]) + "\n"
            index = end + 1
            line = line[: heredoc.start()].strip()
        commands.append((line, stdin))
    return commands


def _open_quote(line: str) -> bool:
    try:
        shlex.split(_without_comment(line))
    except ValueError:
        return True
    return False


def _without_comment(line: str) -> str:
    quote = None
    for position, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (position == 0 or line[position - 1].isspace()):
            return line[:position]
    return line


def _jq(value: Any, path: str) -> Any:
    """``jq -r`` for the simple paths the docs use: ``.a.b[0].c``."""
    for name, index in re.findall(r"\.(\w+)|\[(\d+)\]", path):
        value = value[name] if name else value[int(index)]
    return value


def _differences(expected: Any, actual: Any, where: str) -> list[str]:
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {actual!r}"]
        found = []
        for key, value in expected.items():
            if key not in actual:
                found.append(f"{where}.{key}: missing")
            else:
                found += _differences(value, actual[key], f"{where}.{key}")
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) < len(expected):
            return [f"{where}: expected at least {len(expected)} items, got {actual!r}"]
        return [p for i, e in enumerate(expected) for p in _differences(e, actual[i], f"{where}[{i}]")]
    if isinstance(expected, str) and expected.endswith("…"):
        ok = isinstance(actual, str) and actual.startswith(expected[:-1])
        return [] if ok else [f"{where}: expected {expected!r}, got {actual!r}"]
    return [] if expected == actual else [f"{where}: expected {expected!r}, got {actual!r}"]
