package lint

import (
	"os"
	"path/filepath"
	"testing"
)

// fuzzKind runs one file kind's checkers on arbitrary content: no panic, no
// hang, every finding and fix inside the file, and the fixes apply. A seed
// is a fixture under testdata/rules or else the content itself.
func fuzzKind(f *testing.F, kind fileKind, path string, seeds ...string) {
	fuzzSource(f, "f", kind, path, seeds...)
}

// fuzzKindNamed is fuzzKind for checkers that read the file name (Gradle).
func fuzzKindNamed(f *testing.F, kind fileKind, name string, seeds ...string) {
	fuzzSource(f, name, kind, "", seeds...)
}

func fuzzSource(f *testing.F, name string, kind fileKind, path string, seeds ...string) {
	for _, s := range seeds {
		if data, err := os.ReadFile(filepath.Join(rulesDir, s)); err == nil {
			f.Add(data)
		} else {
			f.Add([]byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newSource(name, data, kind)
		fs, _ := check(s, &checkEnv{isMain: func() bool { return true }, path: path})
		checkSpans(t, data, fs)
	})
}

// checkSpans: every finding and fix inside the file, and the fixes apply.
func checkSpans(t *testing.T, data []byte, fs []Finding) {
	t.Helper()
	for _, fd := range fs {
		if fd.Start.Offset < 0 || fd.End.Offset > len(data) || fd.Start.Offset > fd.End.Offset {
			t.Fatalf("%s span %d..%d outside %d bytes", fd.Rule, fd.Start.Offset, fd.End.Offset, len(data))
		}
		if fd.Fix != nil && (fd.Fix.Start.Offset < 0 || fd.Fix.End.Offset > len(data) || fd.Fix.Start.Offset > fd.Fix.End.Offset) {
			t.Fatalf("%s fix span %d..%d outside %d bytes", fd.Rule, fd.Fix.Start.Offset, fd.Fix.End.Offset, len(data))
		}
	}
	ApplyFixes(data, fs)
}

func FuzzTerraform(f *testing.F) {
	fuzzKind(f, kindTerraform, "main.tf", "terraform/alb.tf", "terraform/good.tf", "resource \"aws_lb_listener\" \"x\" {\nprotocol = \"TLS\"\n}\n")
}

func FuzzCloudFormationJSON(f *testing.F) {
	fuzzKind(f, kindJSON, "stack.json", "cloudformation/stack.json", `{"Resources":{"L":{"Type":"AWS::ElasticLoadBalancingV2::Listener","Properties":{"Protocol":"TLS"}}}}`)
}

func FuzzCloudFormationYAML(f *testing.F) {
	fuzzKind(f, kindYAML, "stack.yaml", "cloudformation/stack.yaml", "pulumi/Pulumi.yaml")
}

func FuzzPostgres(f *testing.F) {
	fuzzKind(f, kindPostgres, "/etc/postgresql/18/main/postgresql.conf", "postgres/17/postgresql.conf", "postgres/plain/postgresql.conf", "ssl_ecdh_curve prime256v1\n")
}

func FuzzKafka(f *testing.F) {
	fuzzKind(f, kindProperties, "server.properties", "kafka/server.properties", "ssl.protocol:TLSv1\n")
}

func FuzzCargo(f *testing.F) {
	fuzzKind(f, kindCargo, "Cargo.toml", "rust/app/Cargo.toml", "rust/pq/Cargo.toml", "rust/good/Cargo.toml", "[dependencies.\"rustls\"]\nversion=\"=0.23.1\"\n")
}

func FuzzCargoLock(f *testing.F) {
	fuzzKind(f, kindCargoLock, "Cargo.lock", "rust/app/Cargo.lock", "rust/good/Cargo.lock")
}

func FuzzOpenSSLSigalgs(f *testing.F) {
	fuzzKind(f, kindOpenSSL, "openssl.cnf", "mldsa/openssl/openssl.cnf", "mldsa/openssl/openssl-good.cnf", "SignatureAlgorithms = ?:\n")
}

func FuzzNginxSigalgs(f *testing.F) {
	fuzzKind(f, kindNginx, "nginx.conf", "mldsa/nginx/nginx.conf", "mldsa/nginx/good.conf", "ssl_conf_command SignatureAlgorithms ;\n")
}

func FuzzHAProxySigalgs(f *testing.F) {
	fuzzKind(f, kindHAProxy, "haproxy.cfg", "mldsa/haproxy/haproxy.cfg", "bind :443 ssl sigalgs  client-sigalgs ?mldsa44\n")
}

func FuzzCloudTerraform(f *testing.F) {
	fuzzKind(f, kindTerraform, "main.tf", "cloud/cloudflare.tf", "cloud/cloudflare-good.tf", "cloud/apigateway.tf", "cloud/gcp.tf", "cloud/ingress-nginx.tf", "cloud/akamai.tf",
		"resource \"cloudflare_zone_setting\" \"x\" {\nsetting_id = \"tls_1_3\"\nvalue = \"\"\n}\n")
}

func FuzzPulumiPrograms(f *testing.F) {
	fuzzKind(f, kindJS, "index.ts", "pulumi/ts/index.ts", "cloud/ssl-policy.ts", "sslPolicy: pulumi.StringPtr(`ELBSecurityPolicy-`)\n")
}

func FuzzCloudFormationAPIGateway(f *testing.F) {
	fuzzKind(f, kindJSON, "stack.json", "cloud/apigateway.json", "cloud/apigateway.yaml", `{"Resources":{"A":{"Type":"AWS::ApiGateway::RestApi","Properties":{"SecurityPolicy":""}}}}`)
}

func FuzzMaven(f *testing.F) {
	fuzzKind(f, kindMaven, "pom.xml", "java/jdk/pom.xml", "java/good/pom.xml", "<dependency><artifactId>bctls-jdk18on</artifactId><version>${a}</version></dependency><a>1.2</a>")
}

func FuzzGradle(f *testing.F) {
	f.Add([]byte(`implementation("org.bouncycastle:bctls-jdk18on:1.80")`))
	fuzzKindNamed(f, kindJava, "build.gradle.kts", "java/jdk/build.gradle.kts", "java/good/build.gradle")
}

func FuzzVersionCatalog(f *testing.F) {
	f.Add([]byte("[versions]\nbc = \"1.2\"\n[libraries]\na = { module = \"org.bouncycastle:bctls-jdk18on\", version.ref = \"bc\" }\n"))
	fuzzKindNamed(f, kindTOML, "gradle/libs.versions.toml", "java/catalog/gradle/libs.versions.toml")
}

func FuzzJavaVersion(f *testing.F) {
	fuzzKind(f, kindJavaVersion, ".java-version", "java/jdk/.java-version", "1.8.0_392\n", "corretto-17\n")
}

func FuzzDockerfileJDK(f *testing.F) {
	fuzzKind(f, kindDockerfile, "Dockerfile", "java/jdk/Dockerfile", "java/good/Dockerfile", "FROM gcr.io/distroless/java8\n")
}

func FuzzDatabaseConfs(f *testing.F) {
	f.Add(uint8(0), []byte("tls_version=TLSv1.2\n"))
	for i, p := range []string{"mysql/my.cnf", "redis/redis.conf", "rabbitmq/rabbitmq.conf", "python/client.py", "vault/vault.hcl", "etcd/etcd.env"} {
		if data, err := os.ReadFile(filepath.Join(rulesDir, p)); err == nil {
			f.Add(uint8(i), data)
		}
	}
	kinds := []fileKind{kindMySQL, kindRedis, kindRabbitMQ, kindPython, kindHCL, kindShell}
	f.Fuzz(func(t *testing.T, k uint8, data []byte) {
		s := newSource("f", data, kinds[int(k)%len(kinds)])
		fs, _ := check(s, &checkEnv{isMain: func() bool { return true }})
		checkSpans(t, data, fs)
	})
}
