"""One source for the HTTP contract: the models that parse requests and describe answers
(``models``), the ``@operation`` that ties them to a view (``contract``), and the OpenAPI
document built from them and the app's routes (``openapi``)."""
