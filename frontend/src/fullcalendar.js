// What the web app uses of FullCalendar, bundled into one ES module
// (src/postwright/web/static/vendor/fullcalendar.js) by build.mjs.
export { Calendar } from 'fullcalendar'
export { default as dayGridPlugin } from 'fullcalendar/daygrid'
export { default as timeGridPlugin } from 'fullcalendar/timegrid'
export { default as listPlugin } from 'fullcalendar/list'
export { default as interactionPlugin } from 'fullcalendar/interaction'
export { default as themePlugin } from 'fullcalendar/themes/breezy'
