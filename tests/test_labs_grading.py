"""The grading commands: a bad lab number or time limit is a usage error naming what is allowed."""
import pytest

from tinytorch.labs import commands

BAD_ARGUMENTS = [
    (["grade", "99"], "no lab 99 in the registry (there are labs 01-10)"),
    (["grade", "one"], "a lab number, e.g. 03, not 'one'"),
    (["lab", "autograder", "77", "--out", "x.zip"], "no lab 77 in the registry"),
    (["lab", "verify", "--labs", "99"], "no lab 99 in the registry"),
    (["lab", "verify", "--labs", "9-12"], "no lab 11, 12 in the registry"),
    (["lab", "release", "--labs", "0", "--out", "x"], "not a range of positive numbers"),
    (["lab", "release", "--labs", "1-3", "--keep-solutions", "12", "--out", "x"], "no lab 12"),
    (["grade", "01", "--timeout", "0"], "the time limit must be a positive number of seconds, not 0"),
    (["grade", "01", "--timeout", "-5"], "the time limit must be a positive number"),
    (["grade", "01", "--timeout", "nan"], "the time limit must be a positive number"),
    (["lab", "verify", "--timeout", "inf"], "the time limit must be a positive number"),
]


@pytest.mark.parametrize("arguments, complaint", BAD_ARGUMENTS,
                         ids=[" ".join(arguments) for arguments, _ in BAD_ARGUMENTS])
def test_bad_lab_numbers_and_time_limits_are_refused(arguments, complaint, capsys):
    with pytest.raises(SystemExit) as exit_status:
        commands.main(arguments)
    assert exit_status.value.code == 2
    assert complaint in capsys.readouterr().err
