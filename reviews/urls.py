from django.urls import path

from reviews import code_views, views

app_name = "reviews"
urlpatterns = [
    path("submit/", views.submit, name="submit"),
    path("submissions/", views.submission_list, name="submissions"),
    path("submissions/<int:pk>/", views.submission_detail, name="submission"),
    path("submissions/<int:pk>/refresh/", views.submission_refresh, name="submission-refresh"),
    path("submissions/<int:pk>/resubmit/", views.submission_resubmit, name="submission-resubmit"),
    path("submissions/<int:pk>/withdraw/", views.submission_withdraw, name="submission-withdraw"),
    path("submissions/<int:pk>/comment/", views.submission_comment, name="submission-comment"),
    path("submissions/<int:pk>/tree/", code_views.submission_tree, name="submission-tree"),
    path("submissions/<int:pk>/file/", code_views.submission_file, name="submission-file"),
    path("submissions/<int:pk>/diff/", code_views.submission_diff, name="submission-diff"),
    path("findings/<int:pk>/line/", code_views.finding_line, name="finding-line"),
    path("components/<slug:slug>/scope/", views.component_scope, name="component-scope"),
    path("queue/", views.queue, name="queue"),
    path("tickets/<int:pk>/", views.ticket_detail, name="ticket"),
    path("tickets/<int:pk>/comment/", views.ticket_comment, name="ticket-comment"),
]
