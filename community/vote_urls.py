from django.urls import path

from community import vote_views

urlpatterns = [
    path("votes/<int:pk>/", vote_views.vote_detail, name="vote"),
    path("votes/<int:pk>/cast/", vote_views.vote_cast, name="vote-cast"),
    path("votes/<int:pk>/withdraw/", vote_views.vote_withdraw, name="vote-withdraw"),
    path("components/<slug:slug>/votes/", vote_views.component_votes, name="component-votes"),
    path("components/<slug:slug>/votes/propose/", vote_views.vote_propose, name="vote-propose"),
]
