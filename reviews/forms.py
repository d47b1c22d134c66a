from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.text import slugify

from governance.models import Component
from governance.services import ComponentDraft
from governance.validators import (
    normalize_spdx_expression,
    parse_glob_lines,
    validate_path_globs,
)
from reviews.enums import Answer, Decision


class SubmitForm(forms.Form):
    """Submit an existing component, or describe a new one, for review."""

    component = forms.ModelChoiceField(
        queryset=Component.objects.none(),
        required=False,
        empty_label="— a new component —",
        label="Component",
    )
    name = forms.CharField(max_length=120, required=False, label="Name")
    slug = forms.SlugField(
        max_length=80, required=False, label="Slug", help_text="Left empty, made from the name."
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    license = forms.CharField(
        max_length=200,
        required=False,
        label="Proposed license",
        help_text="An SPDX expression, e.g. Apache-2.0 or MIT OR Apache-2.0.",
    )
    open_paths = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        label="Open paths",
        help_text="Globs that go public, one per line (e.g. core/**).",
    )
    internal_paths = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        label="Internal paths",
        help_text="Globs that never leave, one per line (e.g. sharding/**).",
    )
    repository_url = forms.CharField(max_length=500, label="Internal repository URL")
    branch = forms.CharField(max_length=255, initial="main", label="Branch")
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Why open-source it?",
    )

    def __init__(self, *args, components=None, **kwargs):
        super().__init__(*args, **kwargs)
        if components is not None:
            self.fields["component"].queryset = components

    def clean_license(self):
        value = self.cleaned_data["license"]
        return normalize_spdx_expression(value) if value.strip() else ""

    def _clean_globs(self, name):
        return validate_path_globs(parse_glob_lines(self.cleaned_data[name]))

    def clean_open_paths(self):
        return self._clean_globs("open_paths")

    def clean_internal_paths(self):
        return self._clean_globs("internal_paths")

    def clean(self):
        data = super().clean()
        component = data.get("component")
        if component is not None:
            self._refuse_scope_changes(component, data)
        if data.get("component") is None and not self.errors.get("component"):
            if not data.get("name", "").strip():
                self.add_error("name", "Name the new component, or choose an existing one.")
            if not data.get("license") and "license" not in self.errors:
                self.add_error("license", "Propose a license for the new component.")
            if not data.get("slug") and data.get("name"):
                data["slug"] = slugify(data["name"])[:80]
                if not data["slug"]:
                    self.add_error("slug", "Give the component a slug of letters and digits.")
        return data

    def _refuse_scope_changes(self, component, data) -> None:
        """An existing component keeps its license and paths: they are what the departments
        approve, and they change on the component's scope page (which makes the current
        sign-offs stale and says so). Typed here, they would be silently dropped; so a
        value that differs from the component's is refused with that advice."""
        scope_url = reverse("reviews:component-scope", args=[component.slug])
        for name, what, them in (
            ("open_paths", "open paths", "them"),
            ("internal_paths", "internal paths", "them"),
            ("license", "license", "it"),
        ):
            typed = data.get(name)
            current = getattr(component, name)
            if typed and (list(typed) != list(current) if name != "license" else typed != current):
                self.add_error(
                    name,
                    f"Submitting does not change the {what} of {component}: leave this empty, "
                    f"or change {them} on the component's scope page ({scope_url}) first.",
                )

    def component_draft(self) -> ComponentDraft | None:
        data = self.cleaned_data
        if data.get("component") is not None:
            return None
        return ComponentDraft(
            name=data["name"],
            slug=data["slug"],
            license=data["license"],
            description=data.get("description", ""),
            open_paths=data.get("open_paths", []),
            internal_paths=data.get("internal_paths", []),
        )


class DecisionForm(forms.Form):
    """A reviewer's decision plus the department's checklist, one radio group per question."""

    decision = forms.ChoiceField(
        choices=Decision.choices, widget=forms.RadioSelect, label="Decision"
    )
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        label="Comment",
        help_text="Required unless you approve.",
    )
    commit = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, questions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = list(questions)
        for question in self.questions:
            self.fields[f"q_{question.pk}"] = forms.ChoiceField(
                choices=Answer.choices,
                widget=forms.RadioSelect,
                required=False,
                label=question.text,
            )
            self.fields[f"note_{question.pk}"] = forms.CharField(
                max_length=500,
                required=False,
                label=f"Note on: {question.text}",
            )

    def checklist_fields(self):
        for question in self.questions:
            yield self[f"q_{question.pk}"], self[f"note_{question.pk}"]

    def answers(self) -> dict[int, tuple[str, str]]:
        return {
            q.pk: (
                self.cleaned_data.get(f"q_{q.pk}", ""),
                self.cleaned_data.get(f"note_{q.pk}", ""),
            )
            for q in self.questions
            if self.cleaned_data.get(f"q_{q.pk}")
        }

    def clean(self):
        data = super().clean()
        if (
            data.get("decision")
            and data["decision"] != Decision.APPROVE
            and not data.get("comment", "").strip()
        ):
            raise ValidationError({"comment": "Say what needs to change: a comment is required."})
        return data


class CommentForm(forms.Form):
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), label="Comment", max_length=10000
    )


class ResubmitForm(forms.Form):
    response = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), label="What did you change?", max_length=10000
    )


class WithdrawForm(forms.Form):
    reason = forms.CharField(max_length=1000, label="Reason for withdrawing")


class ScopeForm(forms.Form):
    """What the departments approve besides the commit. Checked by the service (the
    allow-list and the registry, the branch name, the prefixes)."""

    license = forms.CharField(
        max_length=200, help_text="An SPDX expression, e.g. Apache-2.0 or MIT OR Apache-2.0."
    )
    open_paths = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Open paths",
        help_text="Globs that go public, one per line (e.g. core/**).",
    )  # fmt: skip
    internal_paths = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Internal paths",
        help_text="Globs that never leave, one per line (e.g. sharding/**).",
    )  # fmt: skip
    external_url = forms.CharField(
        max_length=500, required=False, label="External repository URL",
        help_text="Where the open scope is published; empty: not published anywhere yet.",
    )  # fmt: skip
    external_branch = forms.CharField(max_length=255, required=False, initial="main",
                                      label="External branch")  # fmt: skip
    from_prefix = forms.CharField(
        max_length=255, required=False, label="Internal folder",
        help_text="Published at the folder below instead, e.g. rpc/core/; empty: no mapping.",
    )  # fmt: skip
    to_prefix = forms.CharField(
        max_length=255, required=False, label="External folder",
        help_text="Where that folder lands outside; empty: the root.",
    )  # fmt: skip

    @classmethod
    def initial_for(cls, component) -> dict:
        external = component.external_repository
        return {
            "license": component.license,
            "open_paths": "\n".join(component.open_paths),
            "internal_paths": "\n".join(component.internal_paths),
            "external_url": external.url if external else "",
            "external_branch": component.external_branch or "main",
            "from_prefix": component.export_from_prefix,
            "to_prefix": component.export_to_prefix,
        }

    def changes(self) -> dict:
        data = self.cleaned_data
        return {
            "license": data["license"],
            "open_paths": parse_glob_lines(data["open_paths"]),
            "internal_paths": parse_glob_lines(data["internal_paths"]),
            "external_url": data["external_url"],
            "external_branch": data["external_branch"] or "main",
            "from_prefix": data["from_prefix"],
            "to_prefix": data["to_prefix"],
        }
