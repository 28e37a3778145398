"""python -m meta_sandbox --host 127.0.0.1 --port 8081"""
import argparse
import os

from werkzeug.serving import run_simple

from . import create_app


def main(argv=None):
    parser = argparse.ArgumentParser(prog="meta_sandbox", description="Local stand-in for Meta's APIs")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--webhook-url", help="Keloa's webhook callback (SANDBOX_WEBHOOK_URL)")
    args = parser.parse_args(argv)
    config = {}
    if args.webhook_url:
        config["SANDBOX_WEBHOOK_URL"] = args.webhook_url
    if "SANDBOX_PUBLIC_URL" not in os.environ:
        config["SANDBOX_PUBLIC_URL"] = f"http://{args.host}:{args.port}"
    app = create_app(config)
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
