# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""WSGI applications of the local cloud, run under gunicorn.

Keystone, placement and nova-api are the real applications; nova's module
parses ``sys.argv`` when it loads, so the factories reset it to the
service's name first. Glance and neutron are small stubs that answer the
few calls nova makes for a server booted with no network from one image.
"""

import json
import re
import sys

IMAGE_ID = '155d900f-4e14-4e4c-a73d-069cbf4541e6'
IMAGE = {
    'id': IMAGE_ID, 'name': 'cirros', 'status': 'active',
    'visibility': 'public', 'protected': False, 'os_hidden': False,
    'container_format': 'bare', 'disk_format': 'raw', 'size': 25165824,
    'virtual_size': None, 'min_disk': 0, 'min_ram': 0, 'owner': None,
    'tags': [], 'checksum': None, 'os_hash_algo': None,
    'os_hash_value': None,
    'created_at': '2026-01-01T00:00:00Z', 'updated_at': '2026-01-01T00:00:00Z',
    'self': '/v2/images/' + IMAGE_ID, 'file': '/v2/images/%s/file' % IMAGE_ID,
    'schema': '/v2/schemas/image',
}
IMAGE_SCHEMA = {
    'name': 'image', 'additionalProperties': {'type': 'string'},
    'properties': {key: {} for key in IMAGE},
    'links': [{'rel': 'self', 'href': '{self}'},
              {'rel': 'enclosure', 'href': '{file}'},
              {'rel': 'describedby', 'href': '{schema}'}],
}


def _argv(name):
    sys.argv = [name]


def keystone():
    _argv('keystone')
    from keystone.server import wsgi
    return wsgi.initialize_public_application()


def placement():
    _argv('placement-api')
    from placement import wsgi
    return wsgi.init_application()


def nova_api():
    _argv('nova-api')
    from nova.wsgi import osapi_compute
    return osapi_compute.application


def _json(start_response, status, body):
    data = json.dumps(body).encode()
    start_response(status, [('Content-Type', 'application/json'),
                            ('Content-Length', str(len(data)))])
    return [data]


def _base_url(environ):
    return 'http://%s' % environ['HTTP_HOST']


def glance_stub():
    """Image service stub: one public raw image, read-only."""
    def app(environ, start_response):
        path = environ['PATH_INFO'].rstrip('/')
        if path in ('', '/versions'):
            return _json(start_response, '300 Multiple Choices', {
                'versions': [{'id': 'v2.16', 'status': 'CURRENT', 'links': [
                    {'rel': 'self', 'href': _base_url(environ) + '/v2/'}]}]})
        if environ['REQUEST_METHOD'] != 'GET':
            return _json(start_response, '405 Method Not Allowed', {})
        if path == '/v2/schemas/image':
            return _json(start_response, '200 OK', IMAGE_SCHEMA)
        if path == '/v2/images':
            return _json(start_response, '200 OK', {'images': [IMAGE]})
        if path == '/v2/images/' + IMAGE_ID:
            return _json(start_response, '200 OK', IMAGE)
        return _json(start_response, '404 Not Found', {})
    return app


def neutron_stub():
    """Network service stub: no networks, no ports, no extensions."""
    collection = re.compile(r'^/v2\.0/([a-z_-]+)(\.json)?$')

    def app(environ, start_response):
        path = environ['PATH_INFO'].rstrip('/')
        if path == '':
            return _json(start_response, '200 OK', {
                'versions': [{'id': 'v2.0', 'status': 'CURRENT', 'links': [
                    {'rel': 'self',
                     'href': _base_url(environ) + '/v2.0/'}]}]})
        found = collection.match(path)
        if environ['REQUEST_METHOD'] == 'GET' and found:
            return _json(start_response, '200 OK', {found.group(1): []})
        return _json(start_response, '404 Not Found', {'NeutronError': {
            'type': 'NotFound', 'message': 'The stub has nothing at %s' % path,
            'detail': ''}})
    return app
