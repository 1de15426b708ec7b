import argparse

import pytest

import command_line
import evaluate
import predict
import train


def small_parser():
    parser = argparse.ArgumentParser()
    parser.add_argument("photo")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--flip-tta", action="store_true")
    either = parser.add_mutually_exclusive_group()  # flags in groups are known too
    either.add_argument("--jpeg", action="store_true")
    either.add_argument("--webp", action="store_true")
    return parser


def usage_error(parse, argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse(argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1].split(" error: ", 1)[1]  # (the program named as run)


@pytest.mark.parametrize("argv, message", [
    (["a.jpg", "--batch_size", "4"], "unrecognized arguments: --batch_size 4 (did you mean --batch-size?)"),
    (["a.jpg", "--batch_size=4"], "unrecognized arguments: --batch_size=4 (did you mean --batch-size?)"),
    (["a.jpg", "-flip-tta"], "unrecognized arguments: -flip-tta (did you mean --flip-tta?)"),
    (["a.jpg", "--wepb"], "unrecognized arguments: --wepb (did you mean --webp?)"),
    (["a.jpg", "--fliptta", "--batch_size", "4"],
     "unrecognized arguments: --fliptta --batch_size 4 (did you mean --flip-tta for --fliptta, "
     "--batch-size for --batch_size?)"),
    (["a.jpg", "--colour", "red"], "unrecognized arguments: --colour red"),  # near no flag: no guess
    (["a.jpg", "b.jpg"], "unrecognized arguments: b.jpg"),
    (["--photo", "a.jpg", "--batch_siz", "4"],  # the argument without a flag, named as if it took one
     "unrecognized arguments: --photo --batch_siz 4 (did you mean --batch-size? photo takes no flag: see the usage "
     "above)"),
])
def test_an_unrecognized_flag_is_answered_with_the_flag_it_is_nearest_to(argv, message, capsys):
    parser = small_parser()
    assert usage_error(lambda words: command_line.parse_args(parser, words), argv, capsys) == message


def test_flags_it_knows_are_parsed_as_argparse_parses_them():
    arguments = command_line.parse_args(small_parser(), ["a.jpg", "--batch", "4", "--webp"])  # (a prefix will do)
    assert vars(arguments) == {"photo": "a.jpg", "batch_size": 4, "flip_tta": False, "jpeg": False, "webp": True}


def test_train_predict_and_evaluate_name_the_flag_meant_and_the_arguments_that_take_none(capsys):
    assert usage_error(train.parse_config, ["--learning_rate=3e-4", "--out_dir=runs/people_on_bikes"], capsys) == (
        "unrecognized arguments: --learning_rate=3e-4 --out_dir=runs/people_on_bikes (did you mean --learning-rate "
        "for --learning_rate, --out-dir for --out_dir?)")
    assert usage_error(predict.parse_args, ["a.jpg", "out", "--mask_only"], capsys) == (
        "unrecognized arguments: --mask_only (did you mean --mask-only?)")
    assert usage_error(predict.parse_args, ["--input", "photos", "--output", "cutouts"], capsys) == (
        "unrecognized arguments: --input --output (input and output take no flag: see the usage above)")
    assert usage_error(evaluate.main, ["--data", "d", "--split_list", "s.txt"], capsys) == (
        "unrecognized arguments: --split_list s.txt (did you mean --split-list?)")
