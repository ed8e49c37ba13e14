"""Form fields bound to one model field, showing the core rule's sentence under them.

A field never judges its value itself: the screen asks ``tui.project.rules`` and calls
``show_problem``. Editing calls ``apply`` (which writes the model) and posts ``Edited``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.geometry import Size
from textual.widgets import Checkbox, Input, Label, RadioButton, RadioSet, Static

from tui.screens.messages import Edited


class FieldInput(Input):
    """An Input whose editing keys act the moment they arrive.

    Textual resolves ordinary key bindings only after the key has bubbled up to the app,
    while printable keys are inserted at once: a Ctrl+U or Backspace followed by typed-ahead
    text (a burst over SSH) would act after the text. Priority bindings keep the order.
    """

    BINDINGS = [
        Binding(b.key, b.action, b.description, show=False, priority=True)
        for b in Input.BINDINGS
        if isinstance(b, Binding)
    ]


class Field(Vertical):
    """A labelled one-line input for the model field ``field`` (a rules field id)."""

    DEFAULT_CSS = """
    Field { height: auto; }
    Field > Label { color: $text-muted; }
    Field > .field--hint { color: $text-muted; height: auto; }
    Field > .field--problem { color: $error; height: auto; display: none; }
    Field.-invalid > .field--problem { display: block; }
    Field.-invalid > Input { border: tall $error; }
    Field > .field--warning { color: $warning; height: auto; display: none; }
    Field.-warned > .field--warning { display: block; }
    """

    def __init__(
        self,
        label: str,
        field: str,
        value: str,
        *,
        apply: Callable[[str], None],
        placeholder: str = "",
        hint: str = "",
        password: bool = False,
        restrict: str | None = None,
        max_length: int = 0,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.field = field
        self.apply = apply
        self.touched = False
        self._label = label
        self._value = value
        self._placeholder = placeholder
        self._hint = hint
        self._password = password
        self._restrict = restrict
        self._max_length = max_length

    def compose(self) -> ComposeResult:
        yield Label(self._label)
        yield FieldInput(
            self._value,
            placeholder=self._placeholder,
            password=self._password,
            restrict=self._restrict,
            max_length=self._max_length,
            select_on_focus=False,
        )
        if self._hint:
            yield Static(self._hint, classes="field--hint")
        yield Static("", classes="field--problem")
        yield Static("", classes="field--warning")

    @property
    def input(self) -> Input:
        return self.query_one(Input)

    @property
    def value(self) -> str:
        return self.input.value

    def show_problem(self, problem: str | None) -> None:
        self.query_one(".field--problem", Static).update(problem or "")
        self.set_class(bool(problem), "-invalid")

    def show_warning(self, warning: str | None) -> None:
        """A sentence the user may accept (``tui.project.rules.warnings``), shown under the
        input."""
        self.query_one(".field--warning", Static).update(f"Note: {warning}" if warning else "")
        self.set_class(bool(warning), "-warned")

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        # The input's value now, not the event's: when keys are typed ahead, or the value
        # is set from code, an older Changed arrives after newer ones and must not win.
        value = event.input.value
        if value == self._value:
            return
        self._value = value
        self.touched = True
        self.apply(value)
        self.post_message(Edited(self.field))

    def on_descendant_focus(self) -> None:
        # Textual scrolls the input into view; its label (above it) must be seen too.
        self.call_after_refresh(self.scroll_visible, animate=False)

    def on_input_blurred(self, event: Input.Blurred) -> None:
        event.stop()
        if not self.touched:
            self.touched = bool(event.value)
            self.post_message(Edited(self.field))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        # Enter moves on, as in a paper form; Ctrl+N is "Next".
        event.stop()
        self.screen.focus_next()


class SecretField(Field):
    """A password-style field: drawn as bullets until the reveal key is pressed."""

    BINDINGS = [Binding("ctrl+r", "reveal", "Reveal")]

    def __init__(self, label: str, field: str, value: str, **kwargs) -> None:
        super().__init__(label, field, value, password=True, **kwargs)

    def action_reveal(self) -> None:
        self.input.password = not self.input.password


class MarkedCheckbox(Checkbox):
    """A checkbox whose state is in its text, ``[x]`` or ``[ ]``: Textual draws the same
    box on and off and tells them apart by colour alone (unreadable with NO_COLOR)."""

    @property
    def _button(self) -> Content:
        return Content.styled("[x]" if self.value else "[ ]", "bold" if self.value else "")

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        # Textual's is always 1; a label that wraps (a narrow terminal) needs its lines.
        if self.styles.text_wrap != "wrap":
            return 1
        return self.render().get_height(self.styles, width)


class MarkedRadioButton(RadioButton):
    """A radio button showing ``(•)`` when chosen and ``( )`` when not."""

    @property
    def _button(self) -> Content:
        return Content.styled("(•)" if self.value else "( )", "bold" if self.value else "")


class MarkedRadioSet(RadioSet):
    """A radio set whose highlighted option is always the chosen one: it opens on the
    chosen option (Textual's opens on the first) and the arrow keys choose as they move,
    as radio buttons do on Windows; Home and End choose the first and the last."""

    BINDINGS = [
        Binding("home", "first_button", "First option", show=False),
        Binding("end", "last_button", "Last option", show=False),
    ]

    _ready = False

    def on_mount(self) -> None:
        # Handlers run subclass first: RadioSet's own mount handler (which highlights the
        # first option and records the chosen one) has yet to run.
        self.call_later(self._highlight_chosen)

    def _highlight_chosen(self) -> None:
        if self._pressed_button is not None:
            self._selected = self._nodes.index(self._pressed_button)
        self._ready = True

    def action_next_button(self) -> None:
        super().action_next_button()
        self._choose_selected()

    def action_previous_button(self) -> None:
        super().action_previous_button()
        self._choose_selected()

    def action_first_button(self) -> None:
        self._selected = 0
        self._choose_selected()

    def action_last_button(self) -> None:
        self._selected = len(self._nodes) - 1
        self._choose_selected()

    def _choose_selected(self) -> None:
        if self._ready and self._selected is not None:
            button = self._nodes[self._selected]
            if isinstance(button, RadioButton) and not button.value:
                button.value = True


class BoolField(MarkedCheckbox):
    """A checkbox bound to a boolean model field."""

    def __init__(self, label: str, field: str, value: bool, *, apply: Callable[[bool], None]):
        super().__init__(label, value, id=None)
        self.field = field
        self.apply = apply

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self.apply(event.value)
        self.post_message(Edited(self.field))


class ChoiceField(Vertical):
    """A labelled set of radio buttons; ``apply`` receives the chosen key."""

    DEFAULT_CSS = """
    ChoiceField { height: auto; }
    ChoiceField > Label { color: $text-muted; }
    ChoiceField > RadioSet { width: 100%; }
    ChoiceField > .field--problem { color: $error; height: auto; display: none; }
    ChoiceField.-invalid > .field--problem { display: block; }
    """

    def __init__(
        self,
        label: str,
        field: str,
        choices: Sequence[tuple[str, str]],
        value: str,
        *,
        apply: Callable[[str], None],
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.field = field
        self.apply = apply
        self._label = label
        self._choices = list(choices)
        self._value = value
        self.touched = False

    def compose(self) -> ComposeResult:
        yield Label(self._label)
        with MarkedRadioSet():
            for key, text in self._choices:
                yield MarkedRadioButton(text, value=key == self._value, name=key)
        yield Static("", classes="field--problem")

    @property
    def input(self) -> RadioSet:
        """What takes the focus (as ``Field.input``)."""
        return self.query_one(RadioSet)

    def on_descendant_focus(self) -> None:
        self.call_after_refresh(self.scroll_visible, animate=False)

    def show_problem(self, problem: str | None) -> None:
        self.query_one(".field--problem", Static).update(problem or "")
        self.set_class(bool(problem), "-invalid")

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        event.stop()
        key = event.pressed.name or ""
        if key == self._value:
            return
        self._value = key
        self.touched = True
        self.apply(key)
        self.post_message(Edited(self.field))
