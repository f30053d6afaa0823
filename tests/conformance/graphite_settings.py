# graphite-web settings for lookout's conformance test, loaded through
# GRAPHITE_SETTINGS_MODULE. The test replaces @ROOT@ and @QUERY_PORT@; all state stays in
# that private temp dir.
SECRET_KEY = 'lookout-conformance-test'
TIME_ZONE = 'UTC'
LOG_ROTATION = False
DEFAULT_XFILES_FACTOR = 0
GRAPHITE_ROOT = '/usr/share/graphite-web'
STATIC_ROOT = '/usr/share/graphite-web/static'
CONF_DIR = '@ROOT@/conf'
STORAGE_DIR = '@ROOT@/storage'
WHISPER_DIR = '@ROOT@/storage/whisper'
LOG_DIR = '@ROOT@/log/webapp'
INDEX_FILE = '@ROOT@/storage/index'
# Points still in carbon's cache are read from it, as in a real deployment.
CARBONLINK_HOSTS = ['127.0.0.1:@QUERY_PORT@:a']
CARBONLINK_TIMEOUT = 5.0
USE_WORKER_POOL = False
FIND_CACHE_DURATION = 0
DEFAULT_CACHE_DURATION = 0
FUNCTION_PLUGINS = []
DATABASES = {
    'default': {
        'NAME': '@ROOT@/graphite.db',
        'ENGINE': 'django.db.backends.sqlite3',
        'USER': '', 'PASSWORD': '', 'HOST': '', 'PORT': '',
    },
}
