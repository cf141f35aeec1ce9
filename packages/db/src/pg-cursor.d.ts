// pg-cursor ships no types; kysely describes what its dialect needs of it.
declare module 'pg-cursor' {
  const Cursor: import('kysely').PostgresCursorConstructor
  export default Cursor
}
