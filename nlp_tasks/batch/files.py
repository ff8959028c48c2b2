"""The files of a file run, where each one goes, and the checks that keep a run
from writing over (or removing) its input or its pipeline.
"""

import os
from pathlib import Path

from ..errors import Errors, OptionError, not_a_regular_file
from .outputs import lock_path, output_format, temp_path


def default_errors_path(output: str | Path) -> Path:
    """Where the errors of a run go unless told: ``<output stem>.errors.jsonl``.

    output (str | Path): The output file.
    RETURNS (Path): The errors file.
    """
    output = Path(output)
    return output.with_name(f"{output.stem}.errors.jsonl")


def checkpoint_path(output: str | Path) -> Path:
    """The checkpoint file of an output: ``<output>.checkpoint.json``.

    output (str | Path): The output file.
    RETURNS (Path): The checkpoint file.
    """
    output = Path(output)
    return output.with_name(f"{output.name}.checkpoint.json")


class JobFiles:
    """Every file and folder a file run writes or removes, and the checks on them.

    output (Path): The output file.
    errors (Path): The errors file.
    """

    def __init__(self, output: Path, errors: Path) -> None:
        self.output = output
        self.errors = errors
        self.out_fmt = output_format(output)
        self.checkpoint = checkpoint_path(output)
        self.parts_dir = output.with_name(output.name + ".parts")
        self.written = {
            "output": output,
            "errors file": errors,
            "checkpoint": self.checkpoint,
            "checkpoint's temporary file": temp_path(self.checkpoint),
            "output's temporary file": temp_path(output),
            "output's lock file": lock_path(output),
            "errors file's lock file": lock_path(errors),
        }
        self.removed_dirs = {"Parquet parts folder": self.parts_dir}

    def check_input(self, input_path: Path) -> None:
        """Refuse an output or errors file that is the input file itself.

        input_path (Path): The input file.
        """
        for path, name in ((self.output, "the output"), (self.errors, "the errors file")):
            if path.resolve() == input_path.resolve():
                raise OptionError(
                    Errors.E065.format(
                        name=name, rule="another file than the input", value=str(path)
                    )
                )

    def check(
        self, input_path: Path, pipeline_dir: Path | None, pipeline_parts: list[Path]
    ) -> None:
        """Refuse a run that would write over, or remove, its input or its pipeline.

        Compared by resolved path (symbolic links) and by file identity (hard links).

        input_path (Path): The input file.
        pipeline_dir (Path | None): The pipeline's directory, if it has one.
        pipeline_parts (list[Path]): The files and folders of it that loading reads.
        """
        for role, path in self.written.items():
            # Only the Parquet parts folder is a folder the run may remove.
            if path.is_dir():
                self._refuse(role, path, "a folder", f"the folder '{path}' and all it holds")
            # The run renames some files into place and removes others to start again:
            # either would replace a device or a pipe.
            if not path.is_dir() and not_a_regular_file(path):
                what = "not a regular file (a device, pipe or socket)"
                self._refuse(role, path, what, "that device or pipe")
        protected = [(input_path, "the input", "the input")]
        if pipeline_dir is not None:
            lost = f"the pipeline '{pipeline_dir}'"
            protected += [(part, f"part of {lost}", lost) for part in pipeline_parts]
        for role, path in self.written.items():
            for target, what, lost in protected:
                if _same_path(path, target):
                    self._refuse(role, path, _naming(path, target, what), lost)
                if target.is_dir() and _inside(path, target):
                    self._refuse(role, path, f"inside {what} ({target})", lost)
        if pipeline_dir is not None:
            protected.append((pipeline_dir, lost, lost))
        for role, folder in self.removed_dirs.items():
            for target, what, lost in protected:
                if _same_path(folder, target) or _inside(target, folder):
                    self._refuse(role, folder, f"a folder holding {what} ({target})", lost)
        # The errors file must not be one of the output's own files either.
        own = {role: p for role, p in self.written.items() if not role.startswith("errors")}
        for role, path in own.items():
            if _same_path(self.errors, path):
                self._refuse("errors file", self.errors, f"also the {role}", "records")
        if _inside(self.errors, self.parts_dir):
            self._refuse("errors file", self.errors, "in the Parquet parts folder", "records")

    @staticmethod
    def _refuse(role: str, path: Path, what: str, lost: str) -> None:
        raise OptionError(Errors.E077.format(role=role, path=path, what=what, lost=lost))


def overwrites(path: Path, target: Path) -> bool:
    """Whether writing ``path`` would replace ``target`` or a file inside it.

    Compared by resolved path (symbolic links) and by file identity (hard links).

    path (Path): A file to be written.
    target (Path): A file or folder to keep.
    RETURNS (bool): True if ``path`` is ``target``, or lies inside the folder ``target``.
    """
    return _same_path(path, target) or (target.is_dir() and _inside(path, target))


def _naming(path: Path, target: Path, what: str) -> str:
    if path.absolute() == target.absolute():
        return f"{what} file" if what == "the input" else what
    if path.resolve() == target.resolve():
        return f"a link to {what} '{target}'"
    return f"{what} '{target}' under another name (a hard link)"


def _same_path(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        # Another name for the same file: a hard link, or a case-insensitive spelling.
        return os.path.samefile(a, b)
    except OSError:
        return False


def _inside(path: Path, folder: Path) -> bool:
    return folder.resolve() in path.resolve().parents
