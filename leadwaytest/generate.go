package leadwaytest

// go generate runs in this directory, so the config's output path,
// internal/fakeapi/fakeapi.gen.go, lands in this package's tree.
//go:generate go tool oapi-codegen -config ../api/oapi-codegen-server.yaml ../api/openapi.yaml
//go:generate go tool oapi-codegen -config ../api/oapi-codegen-oauth.yaml ../api/oauth.yaml
