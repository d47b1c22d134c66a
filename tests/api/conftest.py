def yes_to_everything(ticket) -> list[dict]:
    """The sign-off body's ``answers``: "yes" to every active question of the checklist."""
    return [
        {"question": q.pk, "answer": "yes"}
        for q in ticket.department.questions.filter(is_active=True)
    ]


def tickets_by_slug(submission) -> dict:
    return {t.department.slug: t for t in submission.tickets.select_related("department")}


def counts(*models) -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in models}
