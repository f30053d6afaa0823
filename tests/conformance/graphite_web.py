"""Serves graphite-web for lookout's conformance test.

Usage: /usr/bin/python3 graphite_web.py PORT

The environment names the settings (DJANGO_SETTINGS_MODULE, GRAPHITE_SETTINGS_MODULE,
PYTHONPATH). Creates graphite-web's SQLite tables, then serves the WSGI app on 127.0.0.1:PORT
with the standard library's threaded server, and prints one "listening" line when ready. It
runs until killed. It is a test fixture, not a deployment.
"""
import socketserver
import sys
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import django
from django.core.management import call_command


class ThreadedServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def main():
    port = int(sys.argv[1])
    django.setup()
    # graphite-web keeps tags and events in Django's database; it must have its tables.
    call_command("migrate", run_syncdb=True, verbosity=0)
    from graphite.wsgi import application

    httpd = make_server("127.0.0.1", port, application,
                        server_class=ThreadedServer, handler_class=QuietHandler)
    print("graphite-web listening on 127.0.0.1:%d" % port, flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
