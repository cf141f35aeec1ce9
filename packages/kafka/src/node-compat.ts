/**
 * @platformatic/kafka 2.x is written for Node 22, and of what Node 22 added it calls only
 * Promise.withResolvers (ES2024), for every promise-returning call. radstream runs on Node 20 as
 * well (the fleet's LTS), so the one function is supplied here, as the specification defines it,
 * before the client is first called. On Node 22 this does nothing.
 */
declare global {
  interface PromiseConstructor {
    withResolvers?<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (reason?: unknown) => void }
  }
}

if (typeof Promise.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>(this: PromiseConstructor) {
      let resolve!: (value: T) => void
      let reject!: (reason?: unknown) => void
      const promise = new this<T>((res, rej) => {
        resolve = res
        reject = rej
      })
      return { promise, resolve, reject }
    },
  })
}

export {}
