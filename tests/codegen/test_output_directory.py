"""deploy --out never destroys a user's file and never writes half a result."""
import json
import os

import numpy as np
import pytest

from tinytorch.app import cli
from tinytorch.codegen import output_directory
from tinytorch.codegen.deploy import deploy
from tinytorch.codegen.example_graphs import digits_cnn
from tinytorch.codegen.output_directory import MANIFEST_NAME, OutputDirectoryError
from tinytorch.codegen.toolchain import ToolchainError


@pytest.fixture(scope="module")
def graph():
    return digits_cnn(np.random.default_rng(0))


def snapshot(directory):
    return {p.relative_to(directory).as_posix(): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def test_a_directory_holding_the_users_files_is_refused_and_left_as_it_was(graph, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "main.c").write_text("int main(void) { return 0; }\n")
    with pytest.raises(OutputDirectoryError, match=r"not empty and was not written by TinyTorch"):
        deploy(graph, "host", out)
    assert snapshot(out) == {"main.c": b"int main(void) { return 0; }\n"}


def test_a_new_directory_gets_a_manifest_of_every_file(graph, tmp_path):
    out = tmp_path / "new" / "out"
    result = deploy(graph, "cortex-m4", out)
    manifest = json.loads((out / MANIFEST_NAME).read_text())["files"]
    written = {p.relative_to(out).as_posix() for p in result.files}
    assert set(manifest) == written == set(snapshot(out)) - {MANIFEST_NAME}
    assert {"digits_cnn.c", "tinytorch/startup.c"} <= written
    deploy(graph, "cortex-m4", out)  # a second run over its own files is fine
    # A user's file beside the generated ones is kept, and allowed.
    (out / "main.c").write_text("/* mine */\n")
    deploy(graph, "host", out)
    assert (out / "main.c").read_text() == "/* mine */\n"


def test_a_generated_file_the_user_edited_is_not_overwritten(graph, tmp_path):
    out = tmp_path / "out"
    deploy(graph, "host", out)
    (out / "digits_cnn.c").write_text("/* my edits */\n")
    before = snapshot(out)
    with pytest.raises(OutputDirectoryError, match=r"digits_cnn.c \(changed since TinyTorch "
                                                   r"wrote it\)"):
        deploy(graph, "host", out)
    assert snapshot(out) == before


def test_a_users_file_where_a_model_file_would_go_is_not_overwritten(graph, tmp_path):
    out = tmp_path / "out"
    deploy(graph, "host", out)
    other = digits_cnn(np.random.default_rng(1))
    other.name = "second"
    (out / "second.h").write_text("/* my header */\n")
    with pytest.raises(OutputDirectoryError, match=r"second.h \(not written by TinyTorch\)"):
        deploy(other, "host", out)
    assert not (out / "second.c").exists()


def test_links_and_files_in_the_way_are_refused(graph, tmp_path):
    out = tmp_path / "out"
    deploy(graph, "host", out)
    (out / "digits_cnn.c").unlink()
    (out / "digits_cnn.c").symlink_to(tmp_path / "elsewhere.c")
    with pytest.raises(OutputDirectoryError, match=r"digits_cnn.c \(not a regular file\)"):
        deploy(graph, "host", out)
    assert not (tmp_path / "elsewhere.c").exists()
    second = tmp_path / "second"
    second.mkdir()
    (second / MANIFEST_NAME).write_text(json.dumps(
        {"format": "tinytorch-generated-files", "files": {}}))
    (second / "tinytorch").write_text("a file where the kernels' folder goes")
    with pytest.raises(OutputDirectoryError, match=r"a folder on its path is not a plain"):
        deploy(graph, "host", second)
    (second / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(OutputDirectoryError, match=r"unreadable manifest"):
        deploy(graph, "host", second)


def test_a_deploy_cut_short_can_be_run_again(graph, tmp_path, monkeypatch):
    out = tmp_path / "out"
    real = output_directory.write_atomically

    def crash_after_the_model(path, payload, op="deploy"):
        real(path, payload, op=op)
        if os.path.basename(path) == "digits_cnn.c":
            raise KeyboardInterrupt

    monkeypatch.setattr(output_directory, "write_atomically", crash_after_the_model)
    with pytest.raises(KeyboardInterrupt):
        deploy(graph, "host", out)
    assert (out / "digits_cnn.c").exists() and not (out / "tinytorch").exists()
    assert json.loads((out / MANIFEST_NAME).read_text())["files"] == {}
    monkeypatch.setattr(output_directory, "write_atomically", real)
    deploy(graph, "host", out)  # the same files again: recognised, not refused
    assert (out / MANIFEST_NAME).exists()


@pytest.mark.parametrize("arguments, message", [
    (dict(emulate_samples=-3), "number of samples to emulate must be an int >= 0"),
    (dict(emulate_samples=True), "number of samples to emulate"),
    (dict(optimization="-O3"), "optimization must be one of"),
    (dict(flash=0), "flash budget must be a positive number of bytes"),
    (dict(toolchain_name="armcc"), "toolchain must be one of"),
])
def test_bad_arguments_fail_before_anything_is_written(graph, tmp_path, arguments, message):
    with pytest.raises((ValueError, ToolchainError), match=message):
        deploy(graph, "cortex-m4", tmp_path / "out", **arguments)
    assert not (tmp_path / "out").exists()


def test_the_command_line_refuses_a_negative_sample_count(graph, tmp_path, capsys):
    graph.save(tmp_path / "graph")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["deploy", str(tmp_path / "graph"), "--out", str(tmp_path / "out"),
                  "--emulate", "-3"])
    assert exit_info.value.code == 2
    assert "not a whole number >= 0: '-3'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert cli.main(["deploy", str(tmp_path / "graph"), "--out", str(tmp_path / "out"),
                     "--toolchain", "gcc" if os.environ.get("TINYTORCH_TOOLCHAIN") == "gcc"
                     else "zig", "--emulate", "1"]) == 0
    assert "bit-exact with the interpreter: yes" in capsys.readouterr().out


def test_the_demo_refuses_a_users_directory_before_training(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert cli.main(["demo", "--out", str(tmp_path), "--quiet"]) == 1
    captured = capsys.readouterr()
    assert "not written by TinyTorch" in captured.err and "[1/5]" not in captured.out
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
