"""What a user entered in a modal, read defensively: a view's state is input like any
other (block_id == action_id for the bot's inputs, see ids.Field)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.slack.ids import Field


def _get(d: Any, key: str) -> Any:
    return d.get(key) if isinstance(d, dict) else None


@dataclass(frozen=True)
class Form:
    view: dict[str, Any]

    def _state(self, field: Field) -> Any:
        return _get(_get(_get(_get(self.view, "state"), "values"), field.value), field.value)

    def value(self, field: Field) -> str:
        """A text input's or a select's value, stripped; "" when empty or absent."""
        state = self._state(field)
        value = _get(_get(state, "selected_option"), "value") or _get(state, "value")
        return value.strip() if isinstance(value, str) else ""

    def picked(self, field: Field, key: str) -> str:
        """A users_select's `selected_user`, a datepicker's `selected_date`; "" if none."""
        value = _get(self._state(field), key)
        return value if isinstance(value, str) else ""

    def checked(self, field: Field) -> bool:
        return bool(_get(self._state(field), "selected_options"))

    def selected(self, field: Field) -> list[str]:
        """A multi-select's values, in order; [] when none or absent."""
        chosen = _get(self._state(field), "selected_options")
        values = [_get(o, "value") for o in chosen] if isinstance(chosen, list) else []
        return [v for v in values if isinstance(v, str) and v]

    def initial(self, field: Field) -> str:
        """The text an input was opened with (the view's blocks come back with the
        submission), stripped; "" when it had none."""
        blocks = self.view.get("blocks")
        for block in blocks if isinstance(blocks, list) else []:
            if _get(block, "block_id") == field.value:
                value = _get(_get(block, "element"), "initial_value")
                return value.strip() if isinstance(value, str) else ""
        return ""

    @property
    def view_id(self) -> str:
        """Slack's id of this opened modal, "" if absent: the same for each submission."""
        view_id = self.view.get("id")
        return view_id if isinstance(view_id, str) else ""

    @property
    def metadata(self) -> str:
        meta = self.view.get("private_metadata")
        return meta if isinstance(meta, str) else ""
