"""`python -m bot <command>`: the Flask CLI bound to create_app (migrate, serve, scheduler, chat...)."""

from flask.cli import FlaskGroup

from bot import create_app

cli = FlaskGroup(create_app=create_app, add_version_option=False, load_dotenv=False)

if __name__ == "__main__":
    cli()
