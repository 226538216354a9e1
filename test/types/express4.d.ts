// Express 4 (the `express4` alias devDependency) has the same API surface the tests use as Express 5.
declare module 'express4' {
  import express = require('express');
  export = express;
}
