package leadway

//go:generate go tool oapi-codegen -config api/oapi-codegen.yaml api/openapi.yaml
