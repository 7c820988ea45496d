"""Runs cut short, sealed `interrupted` with the changes they made, so that none stays
outside the chain: by their own process on its way out, or by a later run that finds their
plumb gone (controller/state/unsealed.py finds them). `tell` hands each run sealed here to
the runner's observers."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterator, Mapping

from controller.state import unsealed
from controller.state.store import Store

Tell = Callable[[int], object]


@contextlib.contextmanager
def sealed_if_cut_short(store: Store, run_id: int, tell: Tell) -> Iterator[None]:
    """A run cut short in this process (Ctrl-C, an error plumb did not expect) is sealed
    `interrupted` with the changes it made: no run stays outside the chain because its
    process stopped early. A run sealed already (refused, or taken over by another replica)
    is left as it is."""
    try:
        yield
    except BaseException as err:
        if isinstance(err, KeyboardInterrupt):
            why = "interrupted: stopped by the user (Ctrl-C) before the run ended"
        else:
            why = f"interrupted: {type(err).__name__}: {err}".rstrip(": ")
        with contextlib.suppress(Exception):  # the state itself may be what failed
            if store.runs.get(run_id).get("hash") is None:
                store.chain.seal(run_id, "interrupted", errors=[why])
                tell(run_id)
        raise


def seal_dead_here(store: Store, by: int, tell: Tell) -> None:
    """Runs whose plumb is gone without a lease for a takeover to find (a `plan`, an older
    plumb's apply preview; see controller/state/unsealed.py) are sealed `interrupted`: none
    stays outside the chain for ever."""
    for run_id, why in unsealed.gone(store, by, socket.gethostname()):
        with contextlib.suppress(ValueError):  # sealed meanwhile by another run
            store.chain.seal(run_id, "interrupted", errors=[why])
            tell(run_id)


def close_interrupted(store: Store, orphaned: Mapping[int, str], by: int, tell: Tell) -> None:
    """A run whose holder died mid-apply is sealed as interrupted, with the changes it did
    make, by the run that took its stack over: none stays `running` for ever."""
    for run_id in sorted(orphaned):
        if store.runs.get(run_id).get("hash") is not None:
            continue  # it ended after all
        why = (
            f"interrupted: {orphaned[run_id]} and stopped before the run ended; run {by} "
            "took the stack over. The changes it made are listed."
        )
        with contextlib.suppress(ValueError):  # sealed meanwhile by another replica
            store.chain.seal(run_id, "interrupted", errors=[why])
            tell(run_id)
