import { useEffect, useRef } from 'preact/hooks'
import uPlot, { type AlignedData, type Options } from 'uplot'
import 'uplot/dist/uPlot.min.css'

export type ChartOptions = Omit<Options, 'width' | 'height'>

/**
 * A uPlot chart that fills its container's width and follows it when it resizes; built again
 * when the options change, given new data otherwise.
 */
export function Chart({ options, data, height = 260 }: { options: ChartOptions; data: AlignedData; height?: number }) {
  const container = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  useEffect(() => {
    const element = container.current!
    plot.current = new uPlot({ ...options, width: element.clientWidth || 600, height }, data, element)
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: element.clientWidth, height }))
    resize.observe(element)
    return () => {
      resize.disconnect()
      plot.current?.destroy()
      plot.current = null
    }
  }, [options, height])
  useEffect(() => plot.current?.setData(data), [data])
  return <div class="chart" ref={container} />
}

/** Bars over categories (terminate causes, users): x is the category's index, labelled below. */
export function barOptions(
  labels: readonly string[],
  series: { label: string; stroke: string; fill: string },
  formatValue: (value: number) => string = (value) => value.toLocaleString(),
): ChartOptions {
  return {
    scales: {
      x: { time: false, range: [-0.5, Math.max(labels.length - 0.5, 0.5)] },
      y: { range: (_u, _min, max) => [0, Math.max(max, 1) * 1.1] },
    },
    axes: [
      { values: (_u, splits) => splits.map((i) => (Number.isInteger(i) ? (labels[i] ?? '') : '')), incrs: [1], gap: 4 },
      { size: 80, values: (_u, splits) => splits.map(formatValue) },
    ],
    legend: { show: false },
    cursor: { show: false },
    series: [{}, { ...series, paths: uPlot.paths.bars!({ size: [0.7, 80] }), points: { show: false } }],
  }
}
