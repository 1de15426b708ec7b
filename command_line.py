"""What train.py, predict.py and evaluate.py share in reading their command
lines: a word typed wrong is answered with the one it is nearest to, so
that a typo costs a glance rather than a read of --help. nanoGPT's flags
are spelled with underscores (--batch_size=32); ours, argparse's way, with
hyphens (--batch-size 32)."""

import difflib


def did_you_mean(value, allowed):
    """The hint " (did you mean X?)" where `value` is near one of `allowed`
    (a name cut short, a hyphen for an underscore: "resnet50", "bce-dice");
    else ""."""
    near = difflib.get_close_matches(str(value), allowed, n=1)
    return f" (did you mean {near[0]}?)" if near else ""


def nearest_flag(name, flags):
    """The flag of `flags` that the unrecognized flag `name` was meant to
    be (--batch_size, -epochs, --epohcs), or None."""
    near = difflib.get_close_matches(name, flags, n=1)
    return near[0] if near else None


def parse_args(parser, argv=None):
    """parser.parse_args(argv), with the flag meant named after a flag it
    does not know: "unrecognized arguments: --batch_size 8 (did you mean
    --batch-size?)"."""
    args, unrecognized = parser.parse_known_args(argv)
    if unrecognized:
        flags = [option for action in parser._actions for option in action.option_strings]
        names = [word.split("=", 1)[0] for word in unrecognized if word.startswith("-") and word != "-"]  # --out_dir=x
        meant = {name: flag for name in names if (flag := nearest_flag(name, flags))}
        hints = ", ".join(flag if len(meant) == 1 else f"{flag} for {name}" for name, flag in meant.items())
        hint = f" (did you mean {hints}?)" if hints else ""
        parser.error(f"unrecognized arguments: {' '.join(unrecognized)}{hint}")
    return args
