"""Models: the tree of displayed things, each with a tuple id such as (1,) or (1, 2)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from .._engine.state import State, StateManager
from ..errors import UsageError

if TYPE_CHECKING:
    from .session import Session

__all__ = ["Model", "Models"]


class Model(State):
    """A thing in the scene; applications subclass it and add their own attributes.

    ``parent`` and the child list are not in the snapshot: the Models manager
    rebuilds the tree from the ids, so a subclass's own snapshot never forms a
    parent/child reference cycle.
    """

    SESSION_NAME = "Model"
    SESSION_SKIP: ClassVar[frozenset[str]] = frozenset({"parent", "_child_models"})
    #: Models whose class sets this survive Session.reset().
    SESSION_ENDURING: ClassVar[bool] = False

    def __init__(self, name: str, session: Session) -> None:
        self.name = name
        self.session = session
        self.id: tuple[int, ...] | None = None
        self.parent: Model | None = None
        self._child_models: list[Model] = []

    def child_models(self) -> list[Model]:
        """Direct children, in the order they were added."""
        return list(self._child_models)

    def __repr__(self) -> str:
        ident = "#" + ".".join(map(str, self.id)) if self.id else "(not added)"
        return f"<{type(self).__name__} {self.name!r} {ident}>"


class Models(StateManager):
    """The session's models, keyed by id; parents always come before their children."""

    SESSION_NAME = "Models"

    def __init__(self, session: Session) -> None:
        self.session = session
        self._by_id: dict[tuple[int, ...], Model] = {}

    def add(self, models: list[Model], parent: Model | None = None) -> None:
        """Give each model the next free id under ``parent`` (top level when None)."""
        if parent is not None and self._by_id.get(parent.id or ()) is not parent:
            raise UsageError(f"parent {parent!r} is not in this session's models")
        for model in models:
            if model.id is not None and self._by_id.get(model.id) is model:
                raise UsageError(f"{model!r} was already added")
            base = () if parent is None else parent.id or ()
            model.id = (*base, self._next_free(base))
            self._link(model, parent)

    def _next_free(self, base: tuple[int, ...]) -> int:
        used = {i[len(base)] for i in self._by_id if len(i) == len(base) + 1 and i[:-1] == base}
        n = 1
        while n in used:
            n += 1
        return n

    def _link(self, model: Model, parent: Model | None) -> None:
        model.parent = parent
        if not hasattr(model, "_child_models"):
            model._child_models = []
        if parent is not None:
            parent._child_models.append(model)
        self._by_id[model.id] = model  # type: ignore[index]

    def remove(self, models: list[Model]) -> None:
        """Remove the models and all their descendants."""
        for model in models:
            for child in model.child_models():
                self.remove([child])
            if model.id is not None and self._by_id.get(model.id) is model:
                del self._by_id[model.id]
            if model.parent is not None and model in model.parent._child_models:
                model.parent._child_models.remove(model)
            model.parent = None
            model.id = None

    def list(self) -> list[Model]:
        """All models, sorted by id (so parents precede their children)."""
        return [self._by_id[i] for i in sorted(self._by_id)]

    def __len__(self) -> int:
        return len(self._by_id)

    def __repr__(self) -> str:
        shown = ", ".join(repr(m) for m in self.list()[:5])
        more = f", ... {len(self) - 5} more" if len(self) > 5 else ""
        return f"<sessionh5.Models: {len(self)} models{': ' + shown if shown else ''}{more}>"

    def take_snapshot(self, session: Session, flags: int) -> Any:
        return {"models": self.list()}

    @classmethod
    def restore_snapshot(cls, session: Session, data: Any) -> Models:
        """A new manager with the saved models; with ``combine`` the current ones too."""
        new = cls(session)
        options = session.restore_options
        current = getattr(session, "models", None)
        if options.get("combine") and isinstance(current, Models):
            new._by_id = dict(current._by_id)
        incoming = [m for m in data["models"] if isinstance(m, Model) and m.id]
        renumber = new._free_top_ids(incoming)
        for model in sorted(incoming, key=lambda m: len(m.id)):  # type: ignore[arg-type]
            top = renumber.get(model.id[0], model.id[0])  # type: ignore[index]
            model.id = (top, *model.id[1:])  # type: ignore[index]
            new._link(model, new._by_id.get(model.id[:-1]) if len(model.id) > 1 else None)
        return new

    def _free_top_ids(self, incoming: list[Model]) -> dict[int, int]:
        """New top-level ids for incoming models whose id is already taken."""
        taken = {i[0] for i in self._by_id}
        tops = sorted({m.id[0] for m in incoming if m.id})
        # New ids also avoid every incoming top id, so a model that does not clash is
        # never pushed off its own id by the renumbering of one that does.
        used = taken | set(tops)
        remap: dict[int, int] = {}
        for top in tops:
            if top in taken:
                remap[top] = max(used) + 1
                used.add(remap[top])
        return remap

    def reset_state(self, session: Session) -> None:
        """Drop every model except those whose class is SESSION_ENDURING."""
        self.remove([m for m in self.list() if m.parent is None and not m.SESSION_ENDURING])
