"""Seeded random `.hie` programs over a small generated workspace, for differential runs against upstream.

A program is built as a tree (elements, scopes, checks, patterns), then rendered to text with random layout
choices — colon or brace bodies, indentation unit (spaces or tabs), LF or CRLF, `#`/`##` comments placed
deeper, shallower, as the last or only line of a body, `### … ###` block comments — and, for a share of the
seeds, one deliberate syntax error (unclosed brace, bad indentation, missing colon, stray token, unterminated
string). The same seed always gives the same text, so a mismatch is reproduced by its seed alone.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

#: The workspace every generated program runs against (path → content).
WORKSPACE: dict[str, str] = {
    "README.md": "# demo\nalpha beta\n",
    "src/main.py": "import os\nimport json\n\ndef main():\n    return os.getcwd()\n",
    "src/util.py": "def helper():\n    return 'alpha'\n",
    "src/core/engine.py": "class Engine:\n    pass\n",
    "src/core/model.rs": "pub struct Model { id: u32 }\n",
    "docs/guide.md": "gamma delta\n" * 20,
    "docs/notes.txt": "beta\n",
    "build/out.tmp": "x" * 3000,
}

_FOLDERS = ["src", "src/core", "docs", "build", "missing", "."]
_FILES = ["README.md", "src/main.py", "src/util.py", "docs/guide.md", "nope.txt", "src/core/engine.py"]
_GLOBS = ["**/*.py", "*.md", "src/**/*.rs", "docs/*", "**/*.tmp", "**/*.none"]
_NAMES_IN_FOLDERS = ["main.py", "util.py", "engine.py", "guide.md", "README.md", "absent.py", "core"]
_WORDS = ["alpha", "beta", "gamma", "import os", "Engine", "zeta"]
_ELEMENT_NAMES = ["core", "api", "docs", "model", "service", "util", "web", "infra", "store"]
_SCOPE_NAMES = ["src", "code", "docs", "files_", "mods", "tests", "root", "cfg"]


def make_workspace(root: Path) -> None:
    for rel, content in WORKSPACE.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


# ------------------------------------------------------------------ the tree


@dataclass
class Line:
    """One logical line: its nesting depth and text (comments are lines too)."""

    depth: int
    text: str


@dataclass
class Node:
    kind: str  # "element" | "pattern"
    name: str
    braces: bool
    implements: str | None = None
    items: list[Line | Node] = field(default_factory=list)


class _Gen:
    def __init__(self, rnd: random.Random) -> None:
        self.r = rnd
        self.patterns: list[str] = []
        #: scope names visible so far, for checks to refer to (some refer to names that do not exist)
        self.scopes: list[str] = []
        self.paths: list[str] = []

    def selector(self) -> str:
        r = self.r
        kind = r.random()
        if kind < 0.45:
            return f"files.folder_selector('{r.choice(_FOLDERS)}')"
        if kind < 0.7:
            return f"files.file_selector('{r.choice(_FILES)}')"
        if kind < 0.95:
            return f"files.glob_selector('{r.choice(_GLOBS)}')"
        return f"{r.choice(['nolib', 'files'])}.{r.choice(['folder', 'bogus_selector'])}('src')"

    def scope_ref(self) -> str:
        r = self.r
        if self.scopes and r.random() < 0.85:
            name = r.choice(self.scopes)
            if self.paths and r.random() < 0.2:
                return f"{r.choice(self.paths)}.{name}"
            return name
        return r.choice(["undefined_scope", "files", "x.y", "'src'"])

    def check(self) -> str:
        r = self.r
        s = self.scope_ref()
        kind = r.random()
        if kind < 0.35:
            return f"check files.exists({s}, '{r.choice(_NAMES_IN_FOLDERS)}')"
        if kind < 0.55:
            return f"check files.contains({s}, '{r.choice(_WORDS)}')"
        if kind < 0.7:
            return f"check files.no_files_matching({s}, '{r.choice(['*.tmp', '*.py', '*.none'])}')"
        if kind < 0.85:
            return f"check files.max_size({s}, {r.choice(['100', '5000', '2.5', '1000000'])})"
        if kind < 0.9:
            return f"check {r.choice(['nolib', 'python'])}.exists({s}, 'a')"
        if kind < 0.95:
            return f"check files.{r.choice(['unknown_check', 'folder_selector'])}({s})"
        return f"check files.exists({s})"

    def element(self, depth: int, path: str, in_pattern: bool = False) -> Node:
        r = self.r
        name = r.choice(_ELEMENT_NAMES)
        full = f"{path}.{name}" if path else name
        node = Node("element", name, braces=r.random() < 0.4)
        if self.patterns and not in_pattern and r.random() < 0.25:
            node.implements = r.choice([*self.patterns, "Unknown"])
        for _ in range(r.randint(0, 3)):
            sname = r.choice(_SCOPE_NAMES)
            if in_pattern:
                node.items.append(Line(0, f"scope {sname}"))
            else:
                node.items.append(Line(0, f"scope {sname} = {self.selector()}"))
                self.scopes.append(sname)
        for _ in range(r.randint(0, 3)):
            node.items.append(Line(0, self.check()))
        if depth < 3:
            for _ in range(r.choice([0, 0, 1, 1, 2])):
                self.paths.append(full)
                node.items.append(self.element(depth + 1, full, in_pattern))
        r.shuffle(node.items) if r.random() < 0.3 else None
        return node

    def pattern(self) -> Node:
        r = self.r
        name = r.choice(["Layered", "Service", "Module"]) + str(len(self.patterns))
        node = Node("pattern", name, braces=r.random() < 0.5)
        for _ in range(r.randint(0, 2)):
            node.items.append(Line(0, f"scope {r.choice(_SCOPE_NAMES)}"))
        if r.random() < 0.5:
            node.items.append(self.element(2, "", in_pattern=True))
        self.patterns.append(name)
        return node


# ------------------------------------------------------------------ rendering


class _Render:
    def __init__(self, rnd: random.Random) -> None:
        self.r = rnd
        self.unit = rnd.choice(["    ", "    ", "  ", "\t"])
        self.comment_rate = rnd.choice([0.0, 0.1, 0.25])
        self.out: list[str] = []

    def pad(self, depth: int) -> str:
        return self.unit * depth

    def comment(self, depth: int) -> None:
        """A `#` or `##` line near `depth`: same, deeper, shallower or at column 1."""
        r = self.r
        where = r.random()
        d = depth if where < 0.5 else depth + 1 if where < 0.7 else max(depth - 1, 0) if where < 0.9 else 0
        mark = r.choice(["#", "##", "# ", "## "])
        self.out.append(f"{self.pad(d)}{mark}{r.choice(['', ' note', ' TODO: later', ' doc for the next'])}")

    def maybe_comment(self, depth: int) -> None:
        if self.r.random() < self.comment_rate:
            self.comment(depth)
        if self.r.random() < self.comment_rate / 5:
            self.out.append(self.r.choice(["### block ###", "###\nmulti\nline\n###", "### a\n b ###"]))
        if self.r.random() < self.comment_rate / 3:
            self.out.append("")

    def node(self, node: Node, depth: int) -> None:
        r = self.r
        head = f"{node.kind} {node.name}"
        if node.implements:
            head += f" implements {node.implements}"
        only_comments = not node.items and r.random() < 0.5
        if node.braces:
            self.out.append(f"{self.pad(depth)}{head} {{")
        else:
            self.out.append(f"{self.pad(depth)}{head}:")
        if only_comments:
            for _ in range(r.randint(1, 2)):
                self.comment(depth + 1)
        for item in node.items:
            self.maybe_comment(depth + 1)
            if isinstance(item, Node):
                self.node(item, depth + 1)
            else:
                self.out.append(f"{self.pad(depth + 1)}{item.text}")
                if r.random() < 0.05:
                    self.out[-1] += r.choice(["  # trailing", " ## trailing doc"])
        if r.random() < self.comment_rate:
            self.comment(depth + 1)  # the last line of the body
        if node.braces:
            if r.random() < 0.1 and node.items and depth > 0:
                self.out[-1] += " }"
            else:
                self.out.append(f"{self.pad(depth)}}}")
        elif not node.items and not only_comments:
            self.out.append(f"{self.pad(depth + 1)}scope empty = files.folder_selector('.')")


_ERRORS = ["unclosed", "indent", "colon", "stray", "string", "dedent", "first_indent", "keyword"]


def _break(lines: list[str], rnd: random.Random) -> list[str]:
    """Introduce one deliberate syntax error."""
    code = [i for i, text in enumerate(lines) if text.strip() and not text.strip().startswith("#")]
    if not code:
        return lines
    kind = rnd.choice(_ERRORS)
    i = rnd.choice(code)
    text = lines[i]
    if kind == "unclosed":
        closers = [j for j in code if lines[j].strip() == "}"]
        if closers:
            del lines[rnd.choice(closers)]
        else:
            lines[i] = text.rstrip(":") + " {" if text.rstrip().endswith(":") else text + " {"
    elif kind == "indent":
        lines[i] = "   " + text
    elif kind == "dedent" and text[:1] in " \t":
        lines[i] = text[1:] if text.startswith(" ") else text[1:] + "  "
    elif kind == "colon":
        heads = [j for j in code if lines[j].rstrip().endswith(":")]
        if heads:
            j = rnd.choice(heads)
            lines[j] = lines[j].rstrip()[:-1]
    elif kind == "stray":
        lines[i] = text + rnd.choice([" )", " ,", " = =", " extra", " 42", " $"])
    elif kind == "string":
        lines[i] = text.replace("')", ")", 1) if "')" in text else text + " 'open"
    elif kind == "first_indent":
        lines[0] = "  " + lines[0]
    elif kind == "keyword":
        lines.insert(i, text[: len(text) - len(text.lstrip())] + rnd.choice(["elemnt x:", "scope = x", "check"]))
    return lines


def generate(seed: int) -> str:
    """The program for `seed`."""
    rnd = random.Random(seed)
    gen = _Gen(rnd)
    render = _Render(rnd)
    if rnd.random() < 0.6:
        render.out.append("import files")
    if rnd.random() < 0.3:
        render.out.append("")
    decls: list[Node] = []
    for _ in range(rnd.randint(0, 2) if rnd.random() < 0.3 else 0):
        decls.append(gen.pattern())
    for _ in range(rnd.randint(1, 3)):
        decls.append(gen.element(1, ""))
    for decl in decls:
        render.maybe_comment(0)
        render.node(decl, 0)
        if rnd.random() < 0.5:
            render.out.append("")
    if rnd.random() < render.comment_rate:
        render.comment(0)
    text_lines = "\n".join(render.out).split("\n")
    if rnd.random() < 0.25:
        text_lines = _break(text_lines, rnd)
    eol = "\r\n" if rnd.random() < 0.15 else "\n"
    text = eol.join(text_lines)
    if rnd.random() < 0.9:
        text += eol
    return text
