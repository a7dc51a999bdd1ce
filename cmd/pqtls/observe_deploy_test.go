package main

import (
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// quantityBytes reads a Kubernetes memory quantity with a binary suffix
// ("512Mi"), the only form the manifests use.
func quantityBytes(s string) (int64, error) {
	for i, suf := range []string{"Ki", "Mi", "Gi"} {
		if n, ok := strings.CutSuffix(s, suf); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			return v << (10 * (i + 1)), err
		}
	}
	return 0, errors.New("not a Ki/Mi/Gi quantity: " + s)
}

// yamlDocs decodes every document of a YAML file.
func yamlDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var docs []map[string]any
	d := yaml.NewDecoder(f)
	for {
		var m map[string]any
		if err := d.Decode(&m); errors.Is(err, io.EOF) {
			return docs
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		docs = append(docs, m)
	}
}

// dig walks nested maps and lists: keys are map keys, or list indexes.
func dig(v any, path ...string) any {
	for _, k := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// Issue 16 item 4: the observe DaemonSet runs `pqtls observe -i any --serve`
// with host networking, NET_RAW only and resource limits; every flag on its
// command line exists in the CLI; the port, the annotations and the scrape
// config agree.
func TestObserveDaemonSetManifest(t *testing.T) {
	var ds map[string]any
	for _, d := range yamlDocs(t, "../../deploy/kubernetes/observe-daemonset.yaml") {
		if d["kind"] == "DaemonSet" {
			ds = d
		}
	}
	if ds == nil {
		t.Fatal("no DaemonSet in the manifest")
	}
	pod := dig(ds, "spec", "template", "spec")
	if dig(pod, "hostNetwork") != true || dig(pod, "dnsPolicy") != "ClusterFirstWithHostNet" {
		t.Errorf("hostNetwork %v, dnsPolicy %v", dig(pod, "hostNetwork"), dig(pod, "dnsPolicy"))
	}
	c := dig(pod, "containers", "0")
	sc := dig(c, "securityContext")
	if add := dig(sc, "capabilities", "add"); len(add.([]any)) != 1 || add.([]any)[0] != "NET_RAW" {
		t.Errorf("capabilities added: %v, want exactly NET_RAW", add)
	}
	if drop := dig(sc, "capabilities", "drop", "0"); drop != "ALL" || dig(sc, "allowPrivilegeEscalation") != false || dig(sc, "readOnlyRootFilesystem") != true {
		t.Errorf("securityContext %v", sc)
	}
	memLimit, err := quantityBytes(dig(c, "resources", "limits", "memory").(string))
	if err != nil || dig(c, "resources", "limits", "cpu") == nil || dig(c, "resources", "requests", "memory") == nil {
		t.Fatalf("resources %v: %v", dig(c, "resources"), err)
	}

	// The command line parses with the real flag set.
	var args []string
	for _, a := range dig(c, "args").([]any) {
		args = append(args, a.(string))
	}
	if len(args) == 0 || args[0] != "observe" {
		t.Fatalf("args %v: not pqtls observe", args)
	}
	cmd := newObserveCmd(streams{})
	if err := cmd.ParseFlags(args[1:]); err != nil {
		t.Fatalf("the DaemonSet's command line does not parse: %v", err)
	}
	fl := cmd.Flags()
	if v, _ := fl.GetString("interface"); v != "any" {
		t.Errorf("--interface %q, want any", v)
	}
	serve, _ := fl.GetString("serve")
	if !strings.HasSuffix(serve, ":9109") || dig(c, "ports", "0", "containerPort") != 9109 ||
		dig(ds, "spec", "template", "metadata", "annotations", "prometheus.io/port") != "9109" {
		t.Errorf("--serve %q, container port %v, scrape annotation %v disagree", serve, dig(c, "ports", "0", "containerPort"),
			dig(ds, "spec", "template", "metadata", "annotations", "prometheus.io/port"))
	}
	if name := strings.TrimSuffix(strings.TrimPrefix(serve, "$("), "):9109"); dig(c, "env", "0", "name") != name ||
		dig(c, "env", "0", "valueFrom", "fieldRef", "fieldPath") != "status.podIP" {
		t.Errorf("--serve %q: the address variable is not the pod (node) IP: %v", serve, dig(c, "env"))
	}
	if buf, _ := fl.GetInt64("max-buffer-bytes"); buf <= 0 || buf > memLimit/4 {
		t.Errorf("--max-buffer-bytes %d does not fit a quarter of the %d-byte memory limit", buf, memLimit)
	}
	f := observeFlags{}
	f.iface, _ = fl.GetString("interface")
	f.serve = serve
	f.format, _ = fl.GetString("format")
	f.by, _ = fl.GetString("by")
	f.idle, _ = fl.GetDuration("idle-timeout")
	f.maxFlows, _ = fl.GetInt("max-flows")
	f.maxBuffer, _ = fl.GetInt64("max-buffer-bytes")
	if err := checkObserveFlags(f); err != nil {
		t.Errorf("the DaemonSet's flags are refused: %v", err)
	}

	// The scrape config keeps these pods' metrics port, labelled by node.
	var keepsApp, keepsPort, node bool
	labels := dig(ds, "spec", "template", "metadata", "labels").(map[string]any)
	for _, sc := range dig(yamlDocs(t, "../../deploy/prometheus/observe-scrape.yml")[0], "scrape_configs").([]any) {
		for _, r := range dig(sc, "relabel_configs").([]any) {
			src := dig(r, "source_labels", "0")
			switch {
			case src == "__meta_kubernetes_pod_label_app_kubernetes_io_name" && dig(r, "action") == "keep":
				keepsApp = dig(r, "regex") == labels["app.kubernetes.io/name"]
			case src == "__meta_kubernetes_pod_container_port_name" && dig(r, "action") == "keep":
				keepsPort = dig(r, "regex") == dig(c, "ports", "0", "name")
			case src == "__meta_kubernetes_pod_node_name" && dig(r, "target_label") == "node":
				node = true
			}
		}
		if dig(sc, "kubernetes_sd_configs", "0", "namespaces", "names", "0") != dig(ds, "metadata", "namespace") {
			t.Errorf("scrape config namespaces %v, DaemonSet in %v", dig(sc, "kubernetes_sd_configs"), dig(ds, "metadata", "namespace"))
		}
	}
	if !keepsApp || !keepsPort || !node {
		t.Errorf("scrape config: keeps the app label %v, the metrics port %v, labels the node %v", keepsApp, keepsPort, node)
	}
}
