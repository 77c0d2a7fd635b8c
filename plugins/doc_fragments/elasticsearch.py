# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""How the Elasticsearch modules reach Elasticsearch's REST API.

The argument spec these options document is module_utils/elasticsearch.py's CONNECTION_SPEC.
"""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    """Doc fragment of the Elasticsearch modules."""

    DOCUMENTATION = r"""
options:
  url:
    description:
      - Base URL of the Elasticsearch REST API, for example V(https://elasticsearch.example.com:9200).
      - Credentials go in O(username) and O(password) or in O(api_key), never in the URL; messages name the URL as given.
    type: str
    required: true
  username:
    description:
      - User for HTTP basic authentication, for example V(elastic). Requires O(password).
      - Mutually exclusive with O(api_key).
    type: str
  password:
    description:
      - Password of O(username). Never logged.
    type: str
  api_key:
    description:
      - An Elasticsearch API key, sent in the C(Authorization) header as C(ApiKey <api_key>). It is the C(encoded) value
        of the create API key answer (the Base64 of C(id:api_key)).
      - Mutually exclusive with O(username) and O(password). Never logged.
    type: str
  ca_path:
    description:
      - A CA bundle that signs the certificate of an V(https) O(url), for a cluster with its own CA.
    type: path
  validate_certs:
    description:
      - Verify the TLS certificate of an V(https) O(url). Set V(false) only against a test cluster.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for each answer of Elasticsearch.
    type: int
    default: 30
"""
