// Loaded into a `bosun agent` under test with --import: on SIGUSR2 it lets one promise reject with
// nobody to handle it and throws one exception from a timer, as a bug in a handler would.
process.on('SIGUSR2', () => {
  void Promise.reject(new Error('test: a rejection nobody handles'));
  setTimeout(() => { throw new Error('test: an exception thrown from a timer'); }, 50);
});
