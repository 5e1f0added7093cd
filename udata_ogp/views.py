"""Public pages under /ogp/ (filled by the pages issue)."""

from flask import Blueprint

blueprint = Blueprint("ogp", __name__, url_prefix="/ogp", template_folder="templates")


@blueprint.route("/")
def index():
    return "udata-ogp"


def init_app(app) -> None:
    app.register_blueprint(blueprint)
