package lint

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The runtime and database fixtures join the table-driven tests of
// lint_test.go (true positives with exact lines, near misses, fixes
// applied and re-linted).
func init() {
	ruleCases = append(ruleCases, []struct {
		file  string
		wants []want
	}{
		{"java/jdk/Dockerfile", []want{{"PQ431", 3}, {"PQ431", 7}, {"PQ411", 9}, {"PQ431", 12}, {"PQ431", 13}, {"PQ202", 14}, {"PQ431", 15}}},
		{"java/jdk/.java-version", []want{{"PQ431", 1}}},
		{"java/jdk/pom.xml", []want{{"PQ431", 8}, {"PQ432", 9}, {"PQ432", 26}, {"PQ431", 37}}},
		{"java/jdk/build.gradle.kts", []want{{"PQ431", 7}, {"PQ432", 12}}},
		{"java/jdk/payments.service", []want{{"PQ411", 5}}},
		{"java/jdk/deployment.yaml", []want{{"PQ411", 13}}},
		{"python/client.py", []want{{"PQ441", 7}, {"PQ441", 13}}},
		{"python/Dockerfile", []want{{"PQ202", 2}, {"PQ202", 3}, {"PQ202", 4}}},
		{"mysql/my.cnf", []want{{"PQ451", 5}, {"PQ451", 6}}},
		{"redis/redis.conf", []want{{"PQ452", 8}}},
		{"redis/valkey.conf", []want{{"PQ452", 2}}},
		{"rabbitmq/rabbitmq.conf", []want{{"PQ453", 5}, {"PQ453", 13}}},
		{"etcd/etcd.yaml", []want{{"PQ454", 15}}},
		{"etcd/etcd.conf.yml", []want{{"PQ454", 7}}},
		{"etcd/etcd.env", []want{{"PQ454", 3}}},
		{"vault/vault.hcl", []want{{"PQ455", 11}}},
		{"java/code/TlsClient.java", []want{{"PQ411", 8}}},
		{"java/catalog/gradle/libs.versions.toml", []want{{"PQ432", 2}, {"PQ432", 8}, {"PQ432", 9}}},
		{"java/code/Client.kt", []want{{"PQ411", 5}}},
		{"mysql/compose/compose.yaml", []want{{"PQ451", 4}}},
	}...)
	nearMisses = append(nearMisses,
		"java/good/Dockerfile", "java/good/.java-version", "java/good/pom.xml", "java/good/build.gradle", "java/good/Settings.java",
		"python/good.py", "mysql/conf.d/mariadb-server.cnf", "redis/sentinel.conf", "etcd/etcd-good.env", "java/catalog/gradle/good.versions.toml")
}

// TestRuntimeFixTexts pins the replacement of each fix and which fixes
// are upgrades (shown, never applied by --fix).
func TestRuntimeFixTexts(t *testing.T) {
	cases := []struct {
		file, rule, snippet, newText string
		upgrade                      bool
		severity                     Severity
	}{
		{"java/jdk/Dockerfile", "PQ431", "FROM eclipse-temurin:21.0.5_11-jre-noble", "27", true, SeverityWarning},
		{"java/jdk/Dockerfile", "PQ431", "FROM amazoncorretto:17-alpine AS legacy", "27", true, SeverityWarning},
		{"java/jdk/Dockerfile", "PQ431", "FROM maven:3.9.9-eclipse-temurin-21 AS build", "", true, SeverityWarning},
		{"java/jdk/Dockerfile", "PQ431", "FROM eclipse-temurin:${RUNTIME_JDK}-jre AS from-arg", "", true, SeverityWarning},
		{"java/jdk/pom.xml", "PQ431", "    <maven.compiler.release>21</maven.compiler.release>", "27", true, SeverityInfo},
		{"java/jdk/pom.xml", "PQ432", "    <bouncycastle.version>1.78.1</bouncycastle.version>", "1.81", true, SeverityWarning},
		{"java/jdk/pom.xml", "PQ432", "      <version>1.70</version>", "", true, SeverityWarning},
		{"java/jdk/build.gradle.kts", "PQ432", `    implementation("org.bouncycastle:bctls-jdk18on:1.80")`, "1.81", true, SeverityWarning},
		{"java/jdk/.java-version", "PQ431", "temurin-21.0.5", "27", true, SeverityWarning},
		{"python/client.py", "PQ441", `    ctx.set_ecdh_curve("prime256v1")`, "", false, SeverityError},
		{"mysql/my.cnf", "PQ451", "tls_version = TLSv1.2", ",TLSv1.3", false, SeverityError},
		{"mysql/my.cnf", "PQ451", `admin_tls_version = "TLSv1.1,TLSv1.2"`, ",TLSv1.3", false, SeverityError},
		{"redis/redis.conf", "PQ452", `tls-protocols "TLSv1.2"`, " TLSv1.3", false, SeverityError},
		{"redis/valkey.conf", "PQ452", "tls-protocols TLSv1.2", `"TLSv1.2 TLSv1.3"`, false, SeverityError},
		{"rabbitmq/rabbitmq.conf", "PQ453", "ssl_options.versions.1 = tlsv1.2", "\nssl_options.versions.3 = tlsv1.3", false, SeverityError},
		{"rabbitmq/rabbitmq.conf", "PQ453", "web_stomp.ssl.versions.1 = tlsv1.2", "\nweb_stomp.ssl.versions.2 = tlsv1.3", false, SeverityError},
		{"java/catalog/gradle/libs.versions.toml", "PQ432", `bouncycastle = "1.79"`, "1.81", true, SeverityWarning},
		{"java/code/TlsClient.java", "PQ411", `        p.setNamedGroups(new String[] {"x25519", "secp256r1"});`, `X25519MLKEM768", "`, false, SeverityError},
		{"mysql/compose/compose.yaml", "PQ451", `    command: ["mysqld", "--tls-version=TLSv1.2", "--require-secure-transport=ON"]`, ",TLSv1.3", false, SeverityError},
		{"etcd/etcd.yaml", "PQ454", "        - --tls-max-version=TLS1.2", "TLS1.3", false, SeverityError},
		{"vault/vault.hcl", "PQ455", `  tls_max_version = "tls12"`, "tls13", false, SeverityError},
	}
	for _, c := range cases {
		res := lintPath(t, c.file, Options{})
		found := false
		for _, f := range res.Findings {
			if f.Rule != c.rule || f.Snippet != c.snippet {
				continue
			}
			found = true
			if f.Severity != c.severity {
				t.Errorf("%s %s: severity %s, want %s", c.file, c.snippet, f.Severity, c.severity)
			}
			switch {
			case c.newText == "" && f.Fix != nil:
				t.Errorf("%s %s: unexpected fix %+v", c.file, c.snippet, f.Fix)
			case c.newText != "" && (f.Fix == nil || f.Fix.NewText != c.newText || f.Fix.Upgrade != c.upgrade):
				t.Errorf("%s %s: fix %+v, want %q (upgrade %v)", c.file, c.snippet, f.Fix, c.newText, c.upgrade)
			}
		}
		if !found {
			t.Errorf("%s: no %s finding on %q", c.file, c.rule, c.snippet)
		}
	}
}

// TestRuntimeKinds: the new file names reach their checkers, and a
// my.cnf is no longer read as an OpenSSL config.
func TestRuntimeKinds(t *testing.T) {
	for p, want := range map[string]fileKind{
		"svc/pom.xml": kindMaven, "x/.java-version": kindJavaVersion, "app/main.py": kindPython,
		"etc/my.cnf": kindMySQL, "etc/mysql/mysql.conf.d/mysqld.cnf": kindMySQL, "etc/ssl/openssl.cnf": kindOpenSSL,
		"etc/redis/redis.conf": kindRedis, "valkey.conf": kindRedis, "etc/rabbitmq/rabbitmq.conf": kindRabbitMQ,
		"build.gradle.kts": kindJava, "etc/vault.d/vault.hcl": kindHCL,
	} {
		if got := kindByName(p); got != want {
			t.Errorf("kindByName(%q) = %s, want %s", p, got, want)
		}
	}
}

// TestRuntimeFixesApply applies the database fixes and checks the files
// read as the products expect.
func TestRuntimeFixesApply(t *testing.T) {
	for file, want := range map[string]string{
		"redis/redis.conf":       "\ntls-protocols \"TLSv1.2 TLSv1.3\"\n",
		"mysql/my.cnf":           "\ntls_version = TLSv1.2,TLSv1.3\nadmin_tls_version = \"TLSv1.1,TLSv1.2,TLSv1.3\"\n",
		"rabbitmq/rabbitmq.conf": "ssl_options.versions.2 = tlsv1.1\nssl_options.versions.3 = tlsv1.3\n\n",
	} {
		res := lintPath(t, file, Options{})
		src, err := os.ReadFile(filepath.Join(rulesDir, file))
		if err != nil {
			t.Fatal(err)
		}
		if out := string(ApplyFixes(src, res.Findings)); !strings.Contains(out, want) {
			t.Errorf("%s after fixes:\n%s\nwant it to contain %q", file, out, want)
		}
	}
}

// TestOversizedPythonSkippedQuietly: a Python file over MaxFileSize is
// generated code or data (protobuf modules, vendored bundles), skipped
// like an oversized JavaScript bundle rather than reported as PQ000.
func TestOversizedPythonSkippedQuietly(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"gen/api_pb2.py": strings.Repeat("# generated by the protocol buffer compiler\n", MaxFileSize/44+1),
		"app/tls.py":     "ctx.set_ecdh_curve('prime256v1')\n",
	})
	res, err := Lint(context.Background(), []string{dir}, Options{BaseDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if g := got(res); !sameWants(g, []want{{"PQ441", 1}}) || res.Findings[0].File != "app/tls.py" {
		t.Errorf("findings = %v, want only PQ441 in app/tls.py", g)
	}
}
