"""Solution regions: parsing, the errors that name file and line, and stubbing."""
import ast
import textwrap
from pathlib import Path

import pytest

from tinytorch.app.labs.regions import RegionError, find_regions, parse_hints, parse_source, stub_source

ROOT = Path(__file__).resolve().parent.parent

SAMPLE = textwrap.dedent('''\
    """A module; the markers in this docstring are text, not a region:
    # BEGIN SOLUTION lab 09
    # END SOLUTION
    """
    import math

    SCALE = 2

    def hypotenuse(a: float, b: float) -> float:
        """The long side of a right triangle."""
        # BEGIN SOLUTION lab 07
        squares = a * a + b * b
        return math.sqrt(squares)
        # END SOLUTION


    class Counter:
        def bump(self, by: int) -> int:
            # add `by` to self.count and return the new count
            # BEGIN SOLUTION lab 07
            self.count = getattr(self, "count", 0) + by
            return self.count
            # END SOLUTION


    # BEGIN SOLUTION lab 08
    def doubled(x, *, times=2):
        return x * SCALE * times
    TABLE = [doubled(1)]
    # END SOLUTION
''')


def test_regions_are_found_with_their_lab_lines_and_hints():
    regions = parse_source(SAMPLE, "sample.py")
    assert [(r.lab, r.begin, r.end) for r in regions] == [(7, 11, 14), (7, 20, 23), (8, 26, 30)]
    assert regions[0].hint == "implement hypotenuse: The long side of a right triangle."
    assert regions[1].hint == "Counter.bump: add `by` to self.count and return the new count"
    assert regions[0].body == ("    squares = a * a + b * b", "    return math.sqrt(squares)")


def test_the_comment_above_a_region_becomes_a_todo_in_the_students_copy_only():
    task = "# add `by` to self.count and return the new count"
    student = stub_source(SAMPLE, "sample.py", {7}).splitlines()
    assert "        # TODO: " + task[2:] in student
    assert student[student.index("        # TODO: " + task[2:]) + 1].strip().startswith(
        "raise NotImplementedError('Lab 07: Counter.bump: add `by`")
    assert "TODO" not in SAMPLE
    # A region left in place keeps its plain comment; one already marked TODO is not doubled.
    assert "        " + task in stub_source(SAMPLE, "sample.py", {8}).splitlines()
    marked = SAMPLE.replace(task, "# TODO: " + task[2:])
    assert stub_source(marked, "sample.py", {7}).count("# TODO: ") == 1
    # Without a comment above, no TODO line appears: the message says what to build.
    assert "# TODO" not in stub_source(SAMPLE.replace(task, "pass"), "sample.py", {7})


def test_the_source_reads_as_a_textbook_no_todo_above_any_region():
    for relative, regions in find_regions(ROOT).items():
        lines = (ROOT / relative).read_text(encoding="utf-8").splitlines()
        for region in regions:
            assert "TODO" not in lines[region.begin - 2], region.location


def run_stubbed(source: str, labs: set) -> dict:
    namespace: dict = {}
    exec(compile(stub_source(source, "sample.py", labs), "sample.py", "exec"), namespace)
    return namespace


def test_a_stubbed_function_raises_with_what_to_build():
    stubbed = stub_source(SAMPLE, "sample.py", {7})
    assert "squares" not in stubbed and "self.count = " not in stubbed
    assert ("    raise NotImplementedError('Lab 07: implement hypotenuse: The long side of a "
            "right triangle.')") in stubbed.splitlines()
    namespace = run_stubbed(SAMPLE, {7})
    with pytest.raises(NotImplementedError, match="^Lab 07: Counter.bump: add `by`"):
        namespace["Counter"]().bump(1)
    assert namespace["doubled"](3) == 12  # lab 08 is not stubbed


def test_a_module_level_region_keeps_the_module_importable():
    namespace = run_stubbed(SAMPLE, {8})
    assert namespace["TABLE"] is None
    with pytest.raises(NotImplementedError, match="^Lab 08: "):
        namespace["doubled"](1, times=3)
    assert namespace["hypotenuse"](3, 4) == 5


def test_stubbing_no_lab_changes_nothing():
    assert stub_source(SAMPLE, "sample.py", {1, 2}) == SAMPLE


@pytest.mark.parametrize("source, line, words", [
    ("def f():\n    # BEGIN SOLUTION lab 01\n    # BEGIN SOLUTION lab 01\n    pass\n    # END SOLUTION\n",
     3, "cannot nest"),
    ("def f():\n    # BEGIN SOLUTION lab 02\n    return 1\n", 2, "without an END"),
    ("x = 1\n# END SOLUTION\n", 2, "without a BEGIN"),
    ("def f():\n    # BEGIN SOLUTION lab 3\n    pass\n    # END SOLUTION\n", 2, "malformed"),
    ("def f():\n    #BEGIN SOLUTION lab 03\n    pass\n", 2, "malformed"),
    ("def f():\n    # BEGIN SOLUTION lab 03\n    pass\n# END SOLUTION\n", 4, "not indented like"),
])
def test_malformed_regions_name_the_file_and_line(source, line, words):
    with pytest.raises(RegionError, match=rf"^broken\.py:{line}: .*{words}"):
        parse_source(source, "broken.py")


def test_every_region_in_the_repository_parses_and_every_stub_compiles():
    regions = find_regions(ROOT)
    labs = {region.lab for found in regions.values() for region in found}
    assert {1, 2, 3, 4, 5} <= labs
    for relative in regions:
        stubbed = stub_source((ROOT / relative).read_text(encoding="utf-8"), relative, labs)
        tree = ast.parse(stubbed)  # a SyntaxError here would ship a broken file to students
        assert "BEGIN SOLUTION" not in stubbed, relative
        stubs = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
                 and getattr(node.func, "id", "") == "NotImplementedError"
                 and isinstance(node.args[0], ast.Constant)]
        assert len(stubs) >= len(regions[relative]), relative
        assert all(stub.args[0].value.startswith("Lab ") for stub in stubs)


MIDDLE = textwrap.dedent('''\
    def spread(values, width):
        """Every value repeated ``width`` times, and the total."""
        table = {}
        # the repeated list, and each value's count in table
        # BEGIN SOLUTION lab 05
        repeated = [value for value in values for _ in range(width)]
        for value in values:
            table[value] = table.get(value, 0) + width
        unused = len(repeated)
        # END SOLUTION
        total = sum(value for value in repeated)
        return repeated, total, table, [value for value in values]


    def whole(values):
        """The sum."""
        # BEGIN SOLUTION lab 05
        result = sum(values)
        return result
        # END SOLUTION
''')


def test_a_stub_in_the_middle_of_a_function_names_what_the_rest_needs():
    first, second = parse_source(MIDDLE, "middle.py")
    # `repeated` and `table` are read below; `unused` and the loop's `value` are not
    # (the comprehensions below bind a `value` of their own).
    assert first.hint == ("spread: the repeated list, and each value's count in table; define "
                          "repeated and fill table, which the code below uses")
    assert second.hint == "implement whole: The sum."  # the region is the whole function
    namespace = run_stubbed_source(MIDDLE, {5})
    with pytest.raises(NotImplementedError, match="define repeated and fill table, which the code"):
        namespace["spread"]([1], 2)


def test_the_stubs_of_the_repository_name_what_the_rest_of_their_function_needs():
    hints = [region.hint for found in find_regions(ROOT).values() for region in found]
    assert [hint for hint in hints if hint.startswith("check_matmul_shapes: ")] == [
        "check_matmul_shapes: the two inner sizes that must agree (a 1-D b is a column: its only "
        "size); define inner_a and inner_b, which the code below uses"]
    assert [hint for hint in hints if hint.startswith("implement im2col: ")][0].endswith(
        "zeros where padded; fill cols, which the code below uses")


def run_stubbed_source(source: str, labs: set) -> dict:
    namespace: dict = {}
    exec(compile(stub_source(source, "middle.py", labs), "middle.py", "exec"), namespace)
    return namespace


def test_hints_are_found_in_comments_docstrings_and_markdown():
    text = textwrap.dedent('''\
        def f():
            """Given:

                # BEGIN HINT lab 06
                row = c * width + j
                # END HINT
            """
        # BEGIN HINT lab 07
        # END HINT
        <!-- BEGIN HINT lab 08 -->
        <!-- END HINT -->
    ''')
    assert [(h.lab, h.begin, h.end) for h in parse_hints(text, "f.py")] == [
        (6, 4, 6), (7, 8, 9), (8, 10, 11)]
    assert parse_hints("no markers here", "f.py") == []


@pytest.mark.parametrize("text, line, words", [
    ("# BEGIN HINT lab 01\n# BEGIN HINT lab 01\n# END HINT\n", 2, "cannot nest"),
    ("x\n# END HINT\n", 2, "without a BEGIN"),
    ("# BEGIN HINT lab 02\nx\n", 1, "without an END"),
    ("# BEGIN HINT lab 2\n# END HINT\n", 1, "malformed"),
    ("#BEGIN HINT lab 02\n", 1, "malformed"),
    ("# begin hint lab 02\n", 1, "malformed"),
])
def test_malformed_hints_name_the_file_and_line(text, line, words):
    with pytest.raises(RegionError, match=rf"^notes\.md:{line}: .*{words}"):
        parse_hints(text, "notes.md")
