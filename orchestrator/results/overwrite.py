"""What every export of a run shares: files written earlier are overwritten only when asked."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from caviar_common.errors import InputError


def refuse_clash(paths: Sequence[Path], force: bool) -> None:
    """Refuse (nothing written yet) when any of `paths` exists, unless `force`."""
    clash = [str(p) for p in paths if p.exists()]
    if clash and not force:
        raise InputError(
            "",
            f"{' and '.join(clash)} already exist{'s' if len(clash) == 1 else ''}; "
            "nothing was written. Pass --force to overwrite, or --out DIR to write elsewhere",
        )
