package deploy_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func readYAML(t *testing.T, file string, v any) {
	t.Helper()
	body, err := os.ReadFile(file)
	require.NoError(t, err)
	dec := yaml.NewDecoder(strings.NewReader(string(body)))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(v), "%s", file)
}

type compose struct {
	Name     string `yaml:"name"`
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		Ports       []string          `yaml:"ports"`
		Volumes     []string          `yaml:"volumes"`
		Environment map[string]string `yaml:"environment"`
		ExtraHosts  []string          `yaml:"extra_hosts"`
		DependsOn   []string          `yaml:"depends_on"`
	} `yaml:"services"`
}

// mounts returns a service's volumes as container path → host path, the
// host path relative to this directory.
func mounts(t *testing.T, volumes []string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, v := range volumes {
		parts := strings.Split(v, ":")
		require.GreaterOrEqual(t, len(parts), 2, "volume %q", v)
		m[parts[1]] = parts[0]
	}
	return m
}

// The compose file parses, pins its images, publishes the ports the README
// and the demo use, and mounts files that exist.
func TestComposeFile(t *testing.T) {
	var c compose
	readYAML(t, "compose.yml", &c)
	require.Len(t, c.Services, 3)

	jaeger, prom, grafana := c.Services["jaeger"], c.Services["prometheus"], c.Services["grafana"]
	// Jaeger v2.13.0 is the release of the Go module v1.76.0 that make
	// backends-up builds.
	assert.Equal(t, "jaegertracing/jaeger:2.13.0", jaeger.Image)
	toolsMod, err := os.ReadFile("../tools/jaeger/go.mod")
	require.NoError(t, err)
	assert.Contains(t, string(toolsMod), "github.com/jaegertracing/jaeger v1.76.0", "the Jaeger the backends build; change the image with it")
	assert.ElementsMatch(t, []string{"16686:16686", "4317:4317", "4318:4318"}, jaeger.Ports)
	assert.Equal(t, []string{"9090:9090"}, prom.Ports)
	assert.Equal(t, []string{"3000:3000"}, grafana.Ports)
	for name, s := range c.Services {
		assert.Regexp(t, `:[v0-9][0-9.]*$`, s.Image, "%s's image is pinned", name)
		for _, host := range mounts(t, s.Volumes) {
			_, err := os.Stat(host)
			assert.NoError(t, err, "%s mounts %s", name, host)
		}
	}

	// Prometheus: its configuration and the demo's SLO rules, where the
	// configuration looks for them; exemplars on.
	pm := mounts(t, prom.Volumes)
	assert.Equal(t, "./prometheus.yml", pm["/etc/prometheus/prometheus.yml"])
	assert.Equal(t, "../prometheus/slo-rules.yml", pm["/etc/prometheus/slo-rules.yml"])
	assert.Contains(t, prom.Command, "--config.file=/etc/prometheus/prometheus.yml")
	assert.Contains(t, prom.Command, "--enable-feature=exemplar-storage")
	assert.Contains(t, prom.ExtraHosts, "host.docker.internal:host-gateway")

	var pc struct {
		Global struct {
			ScrapeInterval     string `yaml:"scrape_interval"`
			ScrapeTimeout      string `yaml:"scrape_timeout"`
			EvaluationInterval string `yaml:"evaluation_interval"`
		} `yaml:"global"`
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, "prometheus.yml", &pc)
	assert.Equal(t, []string{"/etc/prometheus/slo-rules.yml"}, pc.RuleFiles)
	// The demo's SLO windows are a sixtieth of the workbook's: 5s for 5m,
	// which needs a scrape every second or two.
	assert.Equal(t, "1s", pc.Global.ScrapeInterval)
	require.Len(t, pc.ScrapeConfigs, 1)
	// The demo serves /metrics on port 8080 (its -addr default).
	assert.Equal(t, []string{"host.docker.internal:8080"}, pc.ScrapeConfigs[0].StaticConfigs[0].Targets)
	demo, err := os.ReadFile("../demo/main.go")
	require.NoError(t, err)
	assert.Contains(t, string(demo), `"127.0.0.1:8080"`, "the demo's default address")

	// Grafana: the data source is the Prometheus service, and the dashboard
	// provider reads the directory the dashboard is mounted in.
	gm := mounts(t, grafana.Volumes)
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name      string         `yaml:"name"`
			UID       string         `yaml:"uid"`
			Type      string         `yaml:"type"`
			Access    string         `yaml:"access"`
			URL       string         `yaml:"url"`
			IsDefault bool           `yaml:"isDefault"`
			JSONData  map[string]any `yaml:"jsonData"`
		} `yaml:"datasources"`
	}
	readYAML(t, gm["/etc/grafana/provisioning/datasources/resilience.yml"], &ds)
	require.Len(t, ds.Datasources, 1)
	assert.Equal(t, "prometheus", ds.Datasources[0].Type)
	assert.Equal(t, "http://prometheus:9090", ds.Datasources[0].URL)
	var dp struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name    string            `yaml:"name"`
			Type    string            `yaml:"type"`
			Options map[string]string `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, gm["/etc/grafana/provisioning/dashboards/resilience.yml"], &dp)
	require.Len(t, dp.Providers, 1)
	dir := dp.Providers[0].Options["path"]
	require.Contains(t, gm, dir, "the provider's path is a mount")
	_, err = os.Stat(filepath.Join(gm[dir], "resilience.json"))
	assert.NoError(t, err, "the dashboard in the mounted directory")
}

// The dashboard has the variables the README describes, a unit on every
// panel, and exemplars on its latency queries.
func TestDashboard(t *testing.T) {
	body, err := os.ReadFile("../../dashboards/resilience.json")
	require.NoError(t, err)
	type panel struct {
		Type        string `json:"type"`
		Title       string `json:"title"`
		FieldConfig struct {
			Defaults struct {
				Unit string `json:"unit"`
			} `json:"defaults"`
		} `json:"fieldConfig"`
		Datasource struct {
			UID string `json:"uid"`
		} `json:"datasource"`
		Targets []struct {
			Expr     string `json:"expr"`
			Exemplar bool   `json:"exemplar"`
		} `json:"targets"`
	}
	var d struct {
		UID        string `json:"uid"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Type       string `json:"type"`
				Query      any    `json:"query"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
		Panels []panel `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(body, &d))

	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
		if v.Name == "pipeline" {
			assert.Equal(t, "label_values(resilience_execution_duration_seconds_count, pipeline)", v.Definition)
		}
	}
	assert.Equal(t, map[string]string{"datasource": "datasource", "pipeline": "query"}, vars)

	rows, latency := 0, 0
	for _, p := range d.Panels {
		if p.Type == "row" {
			rows++
			continue
		}
		assert.Contains(t, []string{"s", "reqps", "ops", "percentunit", "short"}, p.FieldConfig.Defaults.Unit, "unit of panel %q", p.Title)
		assert.Equal(t, "${datasource}", p.Datasource.UID, "data source of panel %q", p.Title)
		require.NotEmpty(t, p.Targets, "panel %q", p.Title)
		for _, tg := range p.Targets {
			if strings.Contains(tg.Expr, "_duration_seconds_bucket") {
				latency++
				assert.True(t, tg.Exemplar, "exemplars of %q", p.Title)
				assert.Equal(t, "s", p.FieldConfig.Defaults.Unit)
			}
		}
	}
	assert.Equal(t, 7, rows, "executions, latency, retries, breakers and bulkheads, SLO, SLO rules, health")
	assert.Equal(t, 6, latency, "p50, p95 and p99 of executions and attempts")
}
