"""Forms of the academy pages: the trainer studio (courses, modules, lessons, quizzes,
questions) and cohorts. One text field per language (en, ms, zh-hans); a language left blank
is a language the course does not exist in."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ehub.core.forms import ImageUploadForm

from . import domain
from .models import LEVEL_CHOICES, QUESTION_KIND_CHOICES
from .services import MAX_COURSE_IMAGE_BYTES

LANGUAGE_LABELS = {"en": _("English"), "ms": _("Malay"), "zh_hans": _("Chinese")}
SUFFIXES = ("en", "ms", "zh_hans")


def _lang(suffix: str) -> str:
    return suffix.replace("_", "-")


class CourseForm(forms.Form):
    slug = forms.SlugField(
        label=_("Web address"),
        max_length=80,
        required=False,
        help_text=_("Part of /academy/courses/…/; made from the title when left empty."),
    )
    level = forms.ChoiceField(label=_("Level"), choices=LEVEL_CHOICES)
    estimated_minutes = forms.IntegerField(label=_("Estimated time (minutes)"), min_value=1)
    required_for_readiness = forms.BooleanField(
        label=_("Required for export readiness"), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for suffix in SUFFIXES:
            language = LANGUAGE_LABELS[suffix]
            self.fields[f"title_{suffix}"] = forms.CharField(
                label=_("Title (%(language)s)") % {"language": language},
                max_length=200,
                required=False,
            )
            self.fields[f"summary_{suffix}"] = forms.CharField(
                label=_("Summary (%(language)s)") % {"language": language},
                required=False,
                widget=forms.Textarea(attrs={"rows": 3}),
            )

    def input_data(self):
        from .services import CourseInput

        data = self.cleaned_data
        return CourseInput(
            slug=data["slug"],
            level=data["level"],
            estimated_minutes=data["estimated_minutes"],
            required_for_readiness=data["required_for_readiness"],
            texts={_lang(s): (data[f"title_{s}"], data[f"summary_{s}"]) for s in SUFFIXES},
        )


class ModuleForm(forms.Form):
    position = forms.IntegerField(label=_("Position"), min_value=1, max_value=999, initial=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for suffix in SUFFIXES:
            self.fields[f"title_{suffix}"] = forms.CharField(
                label=_("Title (%(language)s)") % {"language": LANGUAGE_LABELS[suffix]},
                max_length=200,
                required=False,
            )

    def titles(self) -> dict[str, str]:
        return {_lang(s): self.cleaned_data[f"title_{s}"] for s in SUFFIXES}


class LessonForm(forms.Form):
    module = forms.TypedChoiceField(label=_("Module"), coerce=int)
    position = forms.IntegerField(label=_("Position"), min_value=1, max_value=999, initial=1)
    minutes = forms.IntegerField(label=_("Minutes"), min_value=1, max_value=600, initial=5)

    def __init__(self, *args, modules=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["module"].choices = [(m.pk, m.title_in(None)) for m in modules]
        for suffix in SUFFIXES:
            language = LANGUAGE_LABELS[suffix]
            self.fields[f"title_{suffix}"] = forms.CharField(
                label=_("Title (%(language)s)") % {"language": language},
                max_length=200,
                required=False,
            )
            self.fields[f"body_{suffix}"] = forms.CharField(
                label=_("Text in Markdown (%(language)s)") % {"language": language},
                required=False,
                widget=forms.Textarea(attrs={"rows": 12}),
                help_text=_("Markdown: # headings, **bold**, lists, tables, ![image](https://…)."),
            )

    def texts(self) -> dict[str, tuple[str, str]]:
        data = self.cleaned_data
        return {_lang(s): (data[f"title_{s}"], data[f"body_{s}"]) for s in SUFFIXES}


class QuizForm(forms.Form):
    pass_mark = forms.IntegerField(
        label=_("Pass mark (%)"), min_value=1, max_value=100, initial=domain.DEFAULT_PASS_MARK
    )
    max_attempts = forms.IntegerField(
        label=_("Attempts allowed"),
        min_value=0,
        max_value=100,
        initial=domain.DEFAULT_MAX_ATTEMPTS,
        help_text=_("0 means unlimited."),
    )


class QuestionForm(forms.Form):
    """A question with its choices: one choice per line, the same order in every language;
    mark correct choices with a leading ``*`` in the English (or first) list."""

    kind = forms.ChoiceField(label=_("Kind"), choices=QUESTION_KIND_CHOICES)
    position = forms.IntegerField(label=_("Position"), min_value=1, max_value=999, initial=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for suffix in SUFFIXES:
            language = LANGUAGE_LABELS[suffix]
            self.fields[f"prompt_{suffix}"] = forms.CharField(
                label=_("Question (%(language)s)") % {"language": language},
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
            self.fields[f"choices_{suffix}"] = forms.CharField(
                label=_("Choices (%(language)s)") % {"language": language},
                required=False,
                widget=forms.Textarea(attrs={"rows": 4}),
                help_text=_("One per line; start correct ones with *."),
            )
            self.fields[f"explanation_{suffix}"] = forms.CharField(
                label=_("Explanation (%(language)s)") % {"language": language},
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
            )

    FIELD_OF = {"prompt_en": "prompt_en", "choices": "choices_en"}

    @staticmethod
    def initial_of(question) -> dict:
        """The form's fields filled from a stored question (its choices one per line, the
        correct ones starting with *)."""
        choices = sorted(question.choices.all(), key=lambda c: (c.position, c.pk))
        initial = {"kind": question.kind, "position": question.position}
        for suffix in SUFFIXES:
            language = _lang(suffix)
            initial[f"prompt_{suffix}"] = question.prompts.get(language, "")
            initial[f"explanation_{suffix}"] = question.explanations.get(language, "")
            lines = [
                ("*" if c.is_correct else "") + c.texts.get(language, "")
                for c in choices
                if c.texts.get(language)
            ]
            initial[f"choices_{suffix}"] = "\n".join(lines)
        return initial

    def input_data(self):
        from .services import ChoiceInput, QuestionInput

        data = self.cleaned_data
        lines = {
            s: [line.strip() for line in (data[f"choices_{s}"] or "").splitlines() if line.strip()]
            for s in SUFFIXES
        }
        count = max(len(v) for v in lines.values())
        choices = []
        for i in range(count):
            texts, correct = {}, False
            for suffix in SUFFIXES:
                if i < len(lines[suffix]):
                    text = lines[suffix][i]
                    if text.startswith("*"):
                        correct, text = True, text[1:].strip()
                    texts[_lang(suffix)] = text
            choices.append(ChoiceInput(texts=texts, is_correct=correct))
        return QuestionInput(
            kind=data["kind"],
            position=data["position"],
            prompts={_lang(s): data[f"prompt_{s}"] for s in SUFFIXES},
            explanations={_lang(s): data[f"explanation_{s}"] for s in SUFFIXES},
            choices=choices,
        )


class CohortForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    course = forms.ChoiceField(label=_("Course"))
    starts_on = forms.DateField(
        label=_("Start date"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, courses=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["course"].choices = courses


class MemberForm(forms.Form):
    email = forms.EmailField(label=_("Learner's email address"))


class CourseImageForm(ImageUploadForm):
    """An image for a course's lessons; ``next`` is the studio page to return to."""

    max_bytes = MAX_COURSE_IMAGE_BYTES
    next = forms.CharField(required=False, widget=forms.HiddenInput)
