"""The sandbox's certificate authority, the API server's serving certificate and service-account keys.

Python 3.13 verifies certificates strictly (VERIFY_X509_STRICT): the CA must carry a critical
basicConstraints CA:TRUE and a critical keyUsage with keyCertSign and cRLSign, and every leaf a
subject key identifier, an authority key identifier and its extended key usage. A CA made with a
bare `openssl req -x509` is refused with "CA cert does not include key usage extension".
"""

import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=365)

# The names a client inside or outside the cluster may use for the API server.
API_DNS_NAMES = ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                 "kubernetes.default.svc.cluster.local"]


def _write(path, data, private=False):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _name(common_name, organization=None):
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attrs)


def _load(cert_path, key_path):
    with open(cert_path, "rb") as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    with open(key_path, "rb") as handle:
        key = serialization.load_pem_private_key(handle.read(), password=None)
    return cert, key


def make_ca(directory):
    """Create ca.crt/ca.key in ``directory`` once; return (certificate, key)."""
    cert_path, key_path = os.path.join(directory, "ca.crt"), os.path.join(directory, "ca.key")
    if os.path.exists(cert_path) and os.path.exists(key_path):
        return _load(cert_path, key_path)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = _name("loyalty-platform-sandbox-ca", "loyalty.platform sandbox")
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(key_path, _key_pem(key), private=True)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def make_leaf(directory, name, ca, common_name, dns_names=(), ip_addresses=(), server=True, client=False, organization=None):
    """Create <name>.crt/<name>.key signed by ``ca`` (a (cert, key) pair) once; return the two paths."""
    cert_path, key_path = os.path.join(directory, name + ".crt"), os.path.join(directory, name + ".key")
    if os.path.exists(cert_path) and os.path.exists(key_path):
        return cert_path, key_path
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    usages = ([ExtendedKeyUsageOID.SERVER_AUTH] if server else []) + ([ExtendedKeyUsageOID.CLIENT_AUTH] if client else [])
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, organization)).issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    alt_names = [x509.DNSName(dns) for dns in dns_names] + [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
    if alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    _write(key_path, _key_pem(key), private=True)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def make_service_account_keys(directory):
    """The key pair the API server signs service-account tokens with (sa.key) and verifies them by (sa.pub)."""
    key_path, pub_path = os.path.join(directory, "sa.key"), os.path.join(directory, "sa.pub")
    if os.path.exists(key_path) and os.path.exists(pub_path):
        return key_path, pub_path
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()), private=True)
    _write(pub_path, key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return key_path, pub_path


def make_all(directory, service_ip):
    """Everything the control plane needs, made once per sandbox; returns a dict of paths."""
    os.makedirs(directory, exist_ok=True)
    ca = make_ca(directory)
    server_crt, server_key = make_leaf(directory, "apiserver", ca, "kube-apiserver", dns_names=API_DNS_NAMES,
                                       ip_addresses=["127.0.0.1", service_ip])
    sa_key, sa_pub = make_service_account_keys(directory)
    return {"ca": os.path.join(directory, "ca.crt"), "ca_key": os.path.join(directory, "ca.key"),
            "server_crt": server_crt, "server_key": server_key, "sa_key": sa_key, "sa_pub": sa_pub}
