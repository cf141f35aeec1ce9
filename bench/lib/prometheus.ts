/** Reads figures out of a Prometheus text exposition (a service's /metrics). */
export class PrometheusText {
  constructor(private readonly text: string) {}

  static async fetch(url: string): Promise<PrometheusText> {
    return new PrometheusText(await (await fetch(url)).text())
  }

  /** A sample's value; labels must be given exactly as exposed, e.g. `{le="0.05"}`. */
  value(name: string, labels = ''): number | undefined {
    const line = this.text.split('\n').find((l) => l.startsWith(`${name}${labels} `))
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1))
  }

  /**
   * The upper bound of the histogram bucket that holds quantile `q`: the quantile is at most this
   * (Prometheus's histogram_quantile would interpolate within the bucket; the bound claims less).
   */
  bucketBound(histogram: string, q: number): number | undefined {
    const buckets = [...this.text.matchAll(new RegExp(`^${histogram}_bucket\\{le="([^"]+)"\\} (\\S+)$`, 'gm'))].map(
      (m) => ({ le: Number(m[1] === '+Inf' ? Infinity : m[1]), count: Number(m[2]) }),
    )
    const total = buckets.at(-1)?.count
    if (!total) return undefined
    return buckets.find((b) => b.count >= q * total)?.le
  }
}
