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
    near = nearest(str(value), allowed)
    return f" (did you mean {near}?)" if near else ""


def nearest(word, allowed):
    """The one of `allowed` that `word` was meant to be (--batch_size for
    --batch-size, -epochs or --epohcs for --epochs, whte for white), or None."""
    near = difflib.get_close_matches(word, allowed, n=1)
    return near[0] if near else None


def parse_args(parser, argv=None):
    """parser.parse_args(argv), with the flag meant named after a flag it
    does not know: "unrecognized arguments: --batch_size 8 (did you mean
    --batch-size?)"; a flag named after an argument given without one
    (predict.py --input photos/ --output cutouts/) is told so."""
    args, unrecognized = parser.parse_known_args(argv)
    if unrecognized:
        names = [word.split("=", 1)[0] for word in unrecognized if word.startswith("-") and word != "-"]  # --out_dir=x
        parser.error(f"unrecognized arguments: {' '.join(unrecognized)}{hint(parser, names)}")
    return args


def hint(parser, names):
    """What the unrecognized flags `names` were meant to be, as the end of
    the usage error: " (did you mean --epochs?)"; else ""."""
    flags = [option for action in parser._actions for option in action.option_strings]
    plain = {name for action in parser._actions if not action.option_strings for name in (action.dest, action.metavar)}
    without_flags = [name.lstrip("-") for name in names if name.lstrip("-") in plain]
    meant = {name: flag for name in names if name.lstrip("-") not in plain and (flag := nearest(name, flags))}
    hints = []
    if meant:
        hints.append("did you mean " + ", ".join(flag if len(meant) == 1 else f"{flag} for {name}"
                                                 for name, flag in meant.items()) + "?")
    if without_flags:
        take = "take" if len(without_flags) > 1 else "takes"
        hints.append(f"{' and '.join(without_flags)} {take} no flag: see the usage above")
    return f" ({' '.join(hints)})" if hints else ""
