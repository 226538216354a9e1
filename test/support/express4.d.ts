// Express 4, installed beside Express 5 as the dev dependency alias `express4`, typed with Express's own types.
declare module 'express4' {
  import express = require('express');
  export = express;
}
