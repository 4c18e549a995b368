"""The main view, headless: camera, field of view, background and window size."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._engine.state import StateManager

if TYPE_CHECKING:
    from .session import Session

__all__ = ["View"]

_DEFAULTS: dict[str, Any] = {
    "field_of_view": 30.0,
    "background_color": (0.0, 0.0, 0.0, 1.0),
    "window_size": (800, 600),
}


class View(StateManager):
    """Camera and window state; restore honours restore_camera and resize_window.

    A combining restore keeps the current view: it adds models to the scene the
    user is looking at rather than replacing it.
    """

    SESSION_NAME = "View"

    def __init__(self, session: Session | None = None) -> None:
        self.camera_position = np.hstack([np.eye(3), np.zeros((3, 1))])
        self.field_of_view: float = _DEFAULTS["field_of_view"]
        self.background_color: tuple[float, ...] = _DEFAULTS["background_color"]
        self.window_size: tuple[int, int] = _DEFAULTS["window_size"]

    def __repr__(self) -> str:
        return (f"<sessionh5.View: window {self.window_size[0]}x{self.window_size[1]}, "
                f"field of view {self.field_of_view:g}>")

    def take_snapshot(self, session: Session, flags: int) -> Any:
        return {
            "camera_position": np.array(self.camera_position, dtype=np.float64),
            "field_of_view": float(self.field_of_view),
            "background_color": tuple(self.background_color),
            "window_size": tuple(self.window_size),
        }

    @classmethod
    def restore_snapshot(cls, session: Session, data: Any) -> View:
        view = cls(session)
        view.camera_position = np.array(data["camera_position"], dtype=np.float64)
        view.field_of_view = data["field_of_view"]
        view.background_color = tuple(data["background_color"])
        view.window_size = tuple(data["window_size"])
        current = getattr(session, "main_view", None)
        options = session.restore_options
        if isinstance(current, View):
            if options.get("combine"):  # adding models must not move the user's camera
                return current
            if not options.get("restore_camera", True):
                view.camera_position = current.camera_position.copy()
                view.field_of_view = current.field_of_view
            if options.get("resize_window") is False:
                view.window_size = current.window_size
        return view

    def reset_state(self, session: Session) -> None:
        fresh = View(session)
        self.__dict__.update(fresh.__dict__)
