"""The documentation against what it documents: the Markdown files link to
each other's sections by heading, and a heading reworded breaks every link
to it without a word; and they give train.py, predict.py and evaluate.py
flags by the hundred, and predict.py's functions keywords, which a flag or
keyword renamed would leave behind; and the README's layout table, which a
module added would be missing from."""

import ast
import importlib
import inspect
import re
import subprocess

from conftest import REPO_DIR

LINK = re.compile(r"\]\(([^)\s]+)\)")


def repository_files(pattern):
    """The repository's files that match a git pathspec ("*.md"): those git
    tracks, not what a user keeps beside them (a virtual environment's
    packages, a script of their own); in a copy without git, every one."""
    listed = subprocess.run(["git", "ls-files", "-z", "--", pattern], cwd=REPO_DIR, capture_output=True)
    if listed.returncode == 0 and listed.stdout:
        return sorted(REPO_DIR / name for name in listed.stdout.decode().split("\0") if name)
    return sorted(path for path in REPO_DIR.rglob(pattern)
                  if not any(part.startswith(".") or part == "runs" for part in path.relative_to(REPO_DIR).parts))


def markdown_files():
    return repository_files("*.md")


def heading_anchors(text):
    """The anchors GitHub gives the headings of a Markdown text: lower case,
    punctuation but hyphens dropped, spaces made hyphens, and -1, -2 added
    to a repeated one."""
    anchors, seen, in_code = set(), {}, False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and (heading := re.match(r"#{1,6} (.*)", line)):
            anchor = re.sub(r"[^\w\- ]", "", heading[1].strip().lower()).replace(" ", "-")
            anchors.add(f"{anchor}-{seen[anchor]}" if anchor in seen else anchor)
            seen[anchor] = seen.get(anchor, 0) + 1
    return anchors


def test_heading_anchors_are_made_as_github_makes_them():
    assert heading_anchors("# Long runs: resuming, failures, --watch\n## Speed\n```\n# not a heading\n```\n"
                           "### Speed\n") == {"long-runs-resuming-failures---watch", "speed", "speed-1"}


def test_every_link_between_the_markdown_files_leads_to_a_file_and_a_heading_there():
    broken = []
    for path in markdown_files():
        for target in LINK.findall(path.read_text()):
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            file_part, _, anchor = target.partition("#")
            linked = (path.parent / file_part).resolve() if file_part else path
            if not linked.exists():
                broken.append(f"{path.relative_to(REPO_DIR)}: {target} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor not in heading_anchors(linked.read_text()):
                broken.append(f"{path.relative_to(REPO_DIR)}: {target} (no such heading)")
    assert len(markdown_files()) >= 4  # the README, models/, benchmarks/ and People_Segmentation/ ones
    assert broken == []


# What the docs show as a mistake, with what it is answered with beside it.
SHOWN_AS_MISTAKES = ("predict.py --input photos/ --output cutouts/",)
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def commands_in(text):
    """The commands of a Markdown text: its code blocks' lines (continued
    lines joined, comments left off) and its inline code spans."""
    blocks = re.findall(r"```[a-z]*\n(.*?)```", text, re.S)
    lines = [line for block in blocks for line in block.replace("\\\n", " ").splitlines()]
    commands = [re.split(r"\s+#(?=\s)", line)[0] for line in lines]
    prose = re.sub(r"```[a-z]*\n.*?```", "", text, flags=re.S).replace("\n", " ")
    return commands + re.findall(r"`([^`]+)`", prose)


def markdown_commands():
    """{file: its commands (commands_in)} of the Markdown files."""
    return {str(path.relative_to(REPO_DIR)): commands_in(path.read_text()) for path in markdown_files()}


def flags_given(documents, script):
    """(document, command, script's name, [flags given it]) for each run of
    a script that the pattern `script` matches (its group: the name) in the
    commands of `documents` ({name: [command]})."""
    return [(document, command, name, FLAG.findall(arguments)) for document, commands in documents.items()
            for command in commands for name, arguments in re.findall(script + r"([^|;&]*)", command)]


def test_every_flag_the_docs_give_train_predict_or_evaluate_is_one_they_take(capsys):
    import evaluate
    import predict
    import train

    takes, scripts = {}, {"train": train, "predict": predict, "evaluate": evaluate}
    for script, show_help in (("train", train.parse_config), ("predict", predict.parse_args),
                              ("evaluate", evaluate.main)):
        try:
            show_help(["--help"])
        except SystemExit:
            options = capsys.readouterr().out.split("\noptions:\n", 1)[1]  # not the flags its texts name
            invocations = re.findall(r"^  (-.*?)(?:\s{2,}|$)", options, re.M)  # "--out DIR, --out-dir DIR"
            takes[script] = {flag for invocation in invocations for flag in FLAG.findall(invocation)}
    assert {"--epochs", "--init-weights"} <= takes["train"] and "--flip-tta" in takes["predict"]
    documents = markdown_commands() | {
        f"{name}.py's docstring": [line for line in module.__doc__.splitlines() if "python " in line]
        for name, module in scripts.items()}  # its examples, not its prose
    given = flags_given(documents, r"(?<![\w/])(train|predict|evaluate)\.py")
    assert len(given) > 100  # the README's commands and the flags named in its prose
    assert [f"{document}: {flag} in `{command}`" for document, command, script, flags in given for flag in flags
            if flag not in takes[script] and command not in SHOWN_AS_MISTAKES] == []


def flags_added_in(script):
    """The flags a script's argparse parser is given (its add_argument calls),
    read from its source: a benchmark's --help imports TensorFlow first."""
    calls = [node for node in ast.walk(ast.parse(script.read_text()))
             if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument"]
    return {arg.value for call in calls for arg in call.args if isinstance(arg, ast.Constant)
            and str(arg.value).startswith("--")}


def test_every_flag_the_docs_give_a_benchmark_is_one_it_takes():
    assert {"--steps", "--only", "--image-size"} <= flags_added_in(REPO_DIR / "benchmarks" / "train_step.py")
    given = flags_given(markdown_commands(), r"benchmarks/([a-z_]+)\.py")  # not benchmarks/NAME.py
    assert len(given) > 5
    scripts = {script: REPO_DIR / "benchmarks" / f"{script}.py" for _, _, script, _ in given}
    assert [f"no {path.relative_to(REPO_DIR)}" for path in scripts.values() if not path.is_file()] == []
    takes = {script: flags_added_in(path) | {"--help"} for script, path in scripts.items()}
    assert [f"{document}: {flag} in `{command}`" for document, command, script, flags in given for flag in flags
            if flag not in takes[script]] == []


def test_every_keyword_the_docs_pass_to_this_projects_functions_is_one_they_take():
    checked, unknown = 0, []
    for path in markdown_files():
        for block in re.findall(r"```python\n(.*?)```", path.read_text(), re.S):
            tree = ast.parse(block)
            functions = {alias.asname or alias.name: getattr(importlib.import_module(node.module), alias.name)
                         for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                         and (REPO_DIR / f"{node.module}.py").is_file() for alias in node.names}
            for call in ast.walk(tree):
                if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in functions:
                    checked += 1
                    takes = inspect.signature(functions[call.func.id]).parameters
                    unknown += [f"{path.relative_to(REPO_DIR)}: {call.func.id}({keyword.arg}=...)"
                                for keyword in call.keywords if keyword.arg not in takes]
    assert checked >= 10  # the README's "From Python"
    assert unknown == []


def test_every_module_is_in_the_readmes_layout_table():
    layout = (REPO_DIR / "README.md").read_text().split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `([^`]+)` \|", layout, re.M))
    assert {"train.py", "predict.py", "evaluate.py", "models/", "tests/"} <= listed
    modules = [path.name for path in repository_files("*.py") if path.parent == REPO_DIR]
    assert "train.py" in modules and sorted(name for name in modules if name not in listed) == []
